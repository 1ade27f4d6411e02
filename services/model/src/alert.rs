//! The alert record of `kouan.alerts` (compacted by `alertId`): plain data, its protobuf form
//! both ways and its JSON form. The alerter writes it; the store, the feed and webhooks read it.

use crate::protobuf::{time_from_proto, time_to_proto};
use crate::{pb, AlertKind, AlertState, Reject, Timestamp};
use serde::Serialize;

/// One alert's latest state. Times are milliseconds since the epoch (UTC), the alerter's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Stable per (shipment, node, kind): the record's key.
    pub alert_id: String,
    pub shipment_id: String,
    pub shipper: Option<String>,
    pub kind: AlertKind,
    pub state: AlertState,
    pub node: String,
    pub stage: String,
    pub observed_hours: f64,
    pub threshold_hours: f64,
    pub baseline: String,
    pub started_at_millis: i64,
    pub updated_at_millis: i64,
    pub resolved_at_millis: Option<i64>,
    pub message: String,
}

impl Alert {
    pub fn is_firing(&self) -> bool {
        self.state == AlertState::Firing
    }

    pub fn to_proto(&self) -> pb::Alert {
        let time = |millis: i64| Timestamp::from_unix_millis(millis).map(|t| time_to_proto(&t));
        pb::Alert {
            alert_id: self.alert_id.clone(),
            shipment_id: self.shipment_id.clone(),
            shipper: self.shipper.clone(),
            kind: self.kind.to_proto(),
            state: self.state.to_proto(),
            node: self.node.clone(),
            stage: self.stage.clone(),
            observed_hours: self.observed_hours,
            threshold_hours: self.threshold_hours,
            baseline: self.baseline.clone(),
            started_at: time(self.started_at_millis),
            updated_at: time(self.updated_at_millis),
            resolved_at: self.resolved_at_millis.and_then(time),
            message: self.message.clone(),
        }
    }

    /// Reads a record back; the rejection names the field at fault (an unknown kind or state
    /// from a newer writer included). Never panics, whatever the record holds.
    pub fn from_proto(record: pb::Alert) -> Result<Alert, Reject> {
        if record.alert_id.is_empty() {
            return Err(Reject::missing("alertId"));
        }
        // kept as UTC milliseconds: the instant must be writable in UTC too
        let millis = |field: &str, time: &Option<pb::Time>| {
            time.as_ref()
                .map(|t| {
                    let millis = time_from_proto(field, t)?.unix_millis();
                    match Timestamp::from_unix_millis(millis) {
                        Some(_) => Ok(millis),
                        None => Err(Reject::new(field, "time out of range in UTC")),
                    }
                })
                .transpose()
        };
        Ok(Alert {
            kind: AlertKind::from_proto(record.kind).ok_or_else(|| {
                Reject::new("kind", format!("unknown alert kind {}", record.kind))
            })?,
            state: AlertState::from_proto(record.state).ok_or_else(|| {
                Reject::new("state", format!("unknown alert state {}", record.state))
            })?,
            started_at_millis: millis("startedAt", &record.started_at)?
                .ok_or_else(|| Reject::missing("startedAt"))?,
            updated_at_millis: millis("updatedAt", &record.updated_at)?
                .ok_or_else(|| Reject::missing("updatedAt"))?,
            resolved_at_millis: millis("resolvedAt", &record.resolved_at)?,
            alert_id: record.alert_id,
            shipment_id: record.shipment_id,
            shipper: record.shipper,
            node: record.node,
            stage: record.stage,
            observed_hours: record.observed_hours,
            threshold_hours: record.threshold_hours,
            baseline: record.baseline,
            message: record.message,
        })
    }

    /// Decodes a `kouan.alerts` value (see [`from_proto`](Self::from_proto)).
    pub fn decode(bytes: &[u8]) -> Result<Alert, Reject> {
        use prost::Message;
        let record = pb::Alert::decode(bytes)
            .map_err(|error| Reject::new("(protobuf)", error.to_string()))?;
        Alert::from_proto(record)
    }

    /// The JSON object of API.md's alert answers, feeds and webhooks. Hours that are not finite
    /// numbers are `null`, as in status records.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.json_view()).expect("alerts always serialize")
    }

    /// The alert's JSON form as a value to serialize.
    pub fn json_view(&self) -> AlertJson<'_> {
        let time = |millis: i64| Timestamp::from_unix_millis(millis);
        AlertJson {
            alert_id: &self.alert_id,
            shipment_id: &self.shipment_id,
            shipper: self.shipper.as_deref(),
            kind: self.kind,
            state: self.state,
            node: &self.node,
            stage: &self.stage,
            observed_hours: self.observed_hours,
            threshold_hours: self.threshold_hours,
            baseline: &self.baseline,
            started_at: time(self.started_at_millis),
            updated_at: time(self.updated_at_millis),
            resolved_at: self.resolved_at_millis.and_then(time),
            message: &self.message,
        }
    }
}

/// The JSON form of an alert; its OpenAPI schema is the alert of the HTTP API.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Alert)]
pub struct AlertJson<'a> {
    alert_id: &'a str,
    shipment_id: &'a str,
    #[schema(required = true)]
    shipper: Option<&'a str>,
    kind: AlertKind,
    state: AlertState,
    node: &'a str,
    stage: &'a str,
    /// null when not a finite number
    #[schema(value_type = Option<f64>, required = true)]
    observed_hours: f64,
    /// null when not a finite number
    #[schema(value_type = Option<f64>, required = true)]
    threshold_hours: f64,
    baseline: &'a str,
    #[schema(required = true)]
    started_at: Option<Timestamp>,
    #[schema(required = true)]
    updated_at: Option<Timestamp>,
    #[schema(required = true)]
    resolved_at: Option<Timestamp>,
    message: &'a str,
}
