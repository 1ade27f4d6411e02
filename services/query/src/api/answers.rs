//! The typed JSON answers of the API, each with its OpenAPI schema. Handlers serialize these, so
//! the description at `/openapi.json` is generated from what they send; the two answers spliced
//! from pre-rendered JSON for speed (a shipment, a page) have tests that compare the splice with
//! these types' serialization.

use crate::webhook::Filters;
use kouan_model::{AlertJson, StatusJson, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

/// `{"error": "…"}`: what went wrong, naming the parameter or field at fault.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorAnswer {
    pub error: String,
}

/// A status record of STATUS.md plus `dwellHours` computed now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Shipment)]
pub struct ShipmentAnswer<'a> {
    #[serde(flatten)]
    pub status: StatusJson<'a>,
    /// Hours at `lastLocation` since `dwellSince`, measured at the pipeline's now; null when not
    /// waiting anywhere.
    #[schema(required = true)]
    pub dwell_hours: Option<f64>,
}

/// A page of shipments; `nextCursor` is set when more follow.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentPage<'a> {
    pub items: Vec<ShipmentAnswer<'a>>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A page of alerts; `nextCursor` is set when more follow.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertPage<'a> {
    pub items: Vec<AlertJson<'a>>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The caller as the server knows it.
#[derive(Serialize, ToSchema)]
pub struct Me<'a> {
    pub name: &'a str,
    pub role: RoleName,
    /// The shipper whose shipments this caller sees; null for an operator.
    #[schema(required = true)]
    pub shipper: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Operator,
    Shipper,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: Serving,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Serving {
    /// The store has read the topics up to where they were at start-up.
    Serving,
    /// Still reading; the answer is 503.
    Loading,
}

/// The network view: per node the shipments waiting there, the shipments moving by mode, the
/// count per transport stage, and where the pipeline's clock stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAnswer<'a> {
    pub nodes: Vec<NodeDwell<'a>>,
    /// Shipments between nodes, by mode (`UNKNOWN` when not booked yet).
    pub moving: std::collections::BTreeMap<&'static str, u64>,
    /// Shipments by transport stage.
    pub stages: std::collections::BTreeMap<&'static str, u64>,
    pub firing_alerts: u64,
    pub pipeline: PipelineClock,
}

/// Shipments waiting at one node and how long they have waited.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeDwell<'a> {
    pub location: &'a str,
    pub shipments: u64,
    pub p50_dwell_hours: f64,
    pub max_dwell_hours: f64,
}

/// The pipeline's now (the latest event time it has seen) and how far behind the wall clock it is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineClock {
    #[schema(required = true)]
    pub now: Option<Timestamp>,
    pub behind_hours: f64,
    /// Behind by more than five minutes: replaying or recovering.
    pub catching_up: bool,
    /// What the dead-letter topic holds (its retention, 7 days by default): rejected input, late
    /// events, records lost to retention. Operators only (null for a shipper).
    #[schema(required = true)]
    pub dead_letters: Option<crate::dead_letters::DeadLetterCounts>,
}

/// `GET /v1/kpis/clearance`: one entry per group, ordered by group.
#[derive(Serialize, ToSchema)]
pub struct KpiAnswer {
    pub groups: Vec<KpiGroup>,
}

/// One group of the clearance KPI; the group's keys (`portOfEntry`, `mode`, `direction`, `day`)
/// are present when grouped by them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KpiGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub port_of_entry: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub mode: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub direction: Option<serde_json::Value>,
    /// The calendar day at the hub (UTC+08:00) of `releasedAt`, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub day: Option<serde_json::Value>,
    /// Shipments with a clearance time.
    pub count: u64,
    #[schema(required = true)]
    pub p50_hours: Option<f64>,
    #[schema(required = true)]
    pub p90_hours: Option<f64>,
    #[schema(required = true)]
    pub mean_hours: Option<f64>,
    /// Share of declared imports declared before arrival, 4 decimals.
    #[schema(required = true)]
    pub advance_declaration_rate: Option<f64>,
}

/// The body of `POST /v1/sql`.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only query over `shipments`, `milestones` and `alerts`.
    pub sql: String,
}

/// A SQL answer: column names and rows of cells (numbers and booleans as such, the rest as text,
/// null for null), `truncated` when the row limit cut it.
#[derive(Serialize, ToSchema)]
pub struct SqlAnswer<'a> {
    pub columns: Vec<&'a str>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub truncated: bool,
}

/// A webhook subscription as the API shows it (never its secret).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionAnswer<'a> {
    pub id: &'a str,
    pub callback_url: &'a str,
    pub filters: &'a Filters,
    pub created_at: &'a str,
    pub state: SubscriptionState,
    /// When delivery was paused because the destination failed every attempt for a day.
    #[schema(required = true)]
    pub paused_at: Option<&'a str>,
    #[schema(required = true)]
    pub last_failure: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SubscriptionState {
    Active,
    Paused,
}

/// `GET /v1/subscriptions`.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionList<'a> {
    pub items: Vec<SubscriptionAnswer<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Origin, StatusRecord, TopicId};
    use kouan_model::{Milestone, Status, TransportStage};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_parts(seconds, 0, 8 * 3600).unwrap()
    }

    /// A record with every kind of field set, waiting at CNCGO since `at(1_790_000_000)`.
    fn waiting() -> StatusRecord {
        let status = Status {
            shipper: Some("SHP-A".into()),
            units: vec!["MSKU1234565".into()],
            booked_at: Some(at(1_789_990_000)),
            transport_stage: TransportStage::Arrived,
            clearance_hours: Some(1.25),
            last_location: Some(kouan_model::Location {
                unlocode: "CNCGO".into(),
                facility: None,
                name: None,
            }),
            dwell_since: Some(at(1_790_000_000)),
            milestones: vec![Milestone::actual_at(
                "GTIN",
                at(1_790_000_000),
                "CNCGO",
                "yard",
                "e-1".into(),
            )],
            ..Status::empty("SHP-A-0001")
        };
        let origin = Origin {
            topic: TopicId::Status,
            partition: 0,
            offset: 0,
        };
        StatusRecord::new(status, 3, at(1_790_000_100), origin)
    }

    #[test]
    fn a_spliced_shipment_answer_is_the_typed_one() {
        let record = waiting();
        for now_millis in [1_790_000_000_000 + 5_400_000, 0] {
            let spliced: serde_json::Value =
                serde_json::from_str(&record.to_json(now_millis)).unwrap();
            let status = record.status();
            let typed = serde_json::to_value(ShipmentAnswer {
                status: status.json_view(record.version, record.updated_at.as_ref()),
                dwell_hours: record.dwell_hours(now_millis),
            })
            .unwrap();
            assert_eq!(spliced, typed);
        }
        let spliced: serde_json::Value =
            serde_json::from_str(&record.to_json(1_790_000_000_000 + 5_400_000)).unwrap();
        assert_eq!(spliced["dwellHours"], 1.5);
    }
}
