//! One shipment's latest status record as the store keeps it: the typed fields the indexes and
//! the Arrow snapshot need, and its JSON form (STATUS.md names) rendered once per change.

use crate::error::QueryError;
use kouan_model::pb;
use kouan_model::{CustomsState, Location, ShipmentMode, Timestamp, TransportStage};
use kouan_processor::Status;
use prost::Message;
use serde::Serialize;
use std::sync::Arc;

/// Where a record was read: topic partition and offset. Resume tokens are built from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub topic: TopicId,
    pub partition: i32,
    pub offset: i64,
}

/// The two topics the store follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TopicId {
    Status,
    Alerts,
}

#[derive(Debug)]
pub struct StatusRecord {
    pub shipment_id: Arc<str>,
    pub shipper: Option<Arc<str>>,
    pub version: u64,
    pub updated_at: Option<Timestamp>,
    pub status: Status,
    pub origin: Origin,
    /// The JSON object without its closing brace, so that `dwellHours` can be appended at
    /// answer time without re-rendering the record.
    json_head: Box<str>,
}

impl StatusRecord {
    /// Decodes a `kouan.status` record; errors name the field at fault.
    pub fn decode(bytes: &[u8], origin: Origin) -> Result<Self, QueryError> {
        let record = pb::ShipmentStatus::decode(bytes).map_err(|error| QueryError::Record {
            field: "ShipmentStatus".to_string(),
            reason: error.to_string(),
        })?;
        let updated_at = record
            .updated_at
            .as_ref()
            .map(|time| kouan_model::protobuf::time_from_proto("updatedAt", time))
            .transpose()
            .map_err(|reject| QueryError::Record {
                field: reject.field.to_string(),
                reason: reject.reason.to_string(),
            })?;
        let (status, version) =
            Status::from_proto(record).map_err(|reject| QueryError::Record {
                field: reject.field.to_string(),
                reason: reject.reason.to_string(),
            })?;
        if status.shipment_id.is_empty() {
            return Err(QueryError::Record {
                field: "shipmentId".to_string(),
                reason: "is required".to_string(),
            });
        }
        Ok(Self::new(status, version, updated_at, origin))
    }

    pub fn new(
        status: Status,
        version: u64,
        updated_at: Option<Timestamp>,
        origin: Origin,
    ) -> Self {
        let json = serde_json::to_string(&StatusJson::of(&status, version, updated_at.as_ref()))
            .expect("status records always serialize");
        let json_head = json[..json.len() - 1].into();
        Self {
            shipment_id: Arc::from(status.shipment_id.as_str()),
            shipper: status.shipper.as_deref().map(Arc::from),
            version,
            updated_at,
            status,
            origin,
            json_head,
        }
    }

    pub fn transport_stage(&self) -> TransportStage {
        self.status.transport_stage
    }

    pub fn customs_status(&self) -> CustomsState {
        self.status.customs_status
    }

    pub fn mode(&self) -> Option<ShipmentMode> {
        self.status.mode
    }

    /// Hours at the current node, now: null once the shipment is delivered or cancelled (it is
    /// no longer waiting anywhere) or when it has not moved yet.
    pub fn dwell_hours(&self, now_millis: i64) -> Option<f64> {
        if matches!(
            self.status.transport_stage,
            TransportStage::Delivered | TransportStage::Cancelled
        ) {
            return None;
        }
        let since = self.status.dwell_since.as_ref()?.unix_millis();
        let hours = (now_millis - since).max(0) as f64 / 3_600_000.0;
        Some((hours * 100.0).round() / 100.0)
    }

    /// The JSON answer of `GET /v1/shipments/{id}`: the record plus `dwellHours` at `now`.
    pub fn to_json(&self, now_millis: i64) -> String {
        let mut out = String::with_capacity(self.json_head.len() + 24);
        out.push_str(&self.json_head);
        out.push_str(",\"dwellHours\":");
        match self.dwell_hours(now_millis) {
            Some(hours) => out.push_str(&serde_json::to_string(&hours).expect("finite")),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }

    /// Same derived content (version and `updatedAt` aside).
    pub fn same_content(&self, other: &StatusRecord) -> bool {
        self.status == other.status
    }
}

/// STATUS.md's JSON names; absent values are explicit nulls so every record has every field.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson<'a> {
    shipment_id: &'a str,
    document_type: Option<&'static str>,
    shipper: Option<&'a str>,
    mode: Option<&'static str>,
    direction: Option<&'static str>,
    origin: Option<&'a str>,
    destination: Option<&'a str>,
    port_of_entry: Option<&'a str>,
    units: &'a [String],
    booked_at: Option<&'a Timestamp>,
    received_at: Option<&'a Timestamp>,
    departed_at: Option<&'a Timestamp>,
    arrived_at: Option<&'a Timestamp>,
    delivered_at: Option<&'a Timestamp>,
    declared_at: Option<&'a Timestamp>,
    customs_status: &'static str,
    released_at: Option<&'a Timestamp>,
    inspected: bool,
    transport_stage: &'static str,
    advance_declared: Option<bool>,
    clearance_hours: Option<f64>,
    eta: Option<&'a Timestamp>,
    last_location: Option<&'a Location>,
    dwell_since: Option<&'a Timestamp>,
    milestones: Vec<MilestoneJson<'a>>,
    version: u64,
    updated_at: Option<&'a Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MilestoneJson<'a> {
    code: &'static str,
    event_time: &'a Timestamp,
    classifier: &'static str,
    location: Option<&'a Location>,
    source: &'a str,
    event_id: &'a str,
}

impl<'a> StatusJson<'a> {
    fn of(status: &'a Status, version: u64, updated_at: Option<&'a Timestamp>) -> Self {
        Self {
            shipment_id: &status.shipment_id,
            document_type: status.document_type.map(|d| d.code()),
            shipper: status.shipper.as_deref(),
            mode: status.mode.map(|m| m.code()),
            direction: status.direction.map(|d| d.code()),
            origin: status.origin.as_deref(),
            destination: status.destination.as_deref(),
            port_of_entry: status.port_of_entry.as_deref(),
            units: &status.units,
            booked_at: status.booked_at.as_ref(),
            received_at: status.received_at.as_ref(),
            departed_at: status.departed_at.as_ref(),
            arrived_at: status.arrived_at.as_ref(),
            delivered_at: status.delivered_at.as_ref(),
            declared_at: status.declared_at.as_ref(),
            customs_status: status.customs_status.code(),
            released_at: status.released_at.as_ref(),
            inspected: status.inspected,
            transport_stage: status.transport_stage.code(),
            advance_declared: status.advance_declared,
            clearance_hours: status.clearance_hours,
            eta: status.eta.as_ref(),
            last_location: status.last_location.as_ref(),
            dwell_since: status.dwell_since.as_ref(),
            milestones: status
                .milestones
                .iter()
                .map(|m| MilestoneJson {
                    code: m.code,
                    event_time: &m.event_time,
                    classifier: m.classifier.code(),
                    location: m.location.as_ref(),
                    source: &m.source,
                    event_id: &m.event_id,
                })
                .collect(),
            version,
            updated_at,
        }
    }
}

/// One alert's latest record.
#[derive(Debug)]
pub struct AlertRecord {
    pub alert_id: Arc<str>,
    pub shipment_id: Arc<str>,
    pub shipper: Option<Arc<str>>,
    pub kind: &'static str,
    pub state: &'static str,
    pub node: String,
    pub stage: String,
    pub observed_hours: f64,
    pub threshold_hours: f64,
    pub baseline: String,
    pub started_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub message: String,
    pub origin: Origin,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertJson<'a> {
    alert_id: &'a str,
    shipment_id: &'a str,
    shipper: Option<&'a str>,
    kind: &'static str,
    state: &'static str,
    node: &'a str,
    stage: &'a str,
    observed_hours: f64,
    threshold_hours: f64,
    baseline: &'a str,
    started_at: Option<&'a Timestamp>,
    updated_at: Option<&'a Timestamp>,
    resolved_at: Option<&'a Timestamp>,
    message: &'a str,
}

impl AlertRecord {
    pub fn decode(bytes: &[u8], origin: Origin) -> Result<Self, QueryError> {
        let record = pb::Alert::decode(bytes).map_err(|error| QueryError::Record {
            field: "Alert".to_string(),
            reason: error.to_string(),
        })?;
        let bad = |field: &str, reason: String| QueryError::Record {
            field: field.to_string(),
            reason,
        };
        if record.alert_id.is_empty() {
            return Err(bad("alertId", "is required".to_string()));
        }
        let time = |field: &str, time: &Option<pb::Time>| {
            time.as_ref()
                .map(|t| kouan_model::protobuf::time_from_proto(field, t))
                .transpose()
                .map_err(|reject| bad(field, reject.reason.to_string()))
        };
        let kind = kouan_model::AlertKind::from_proto(record.kind)
            .ok_or_else(|| bad("kind", format!("unknown alert kind {}", record.kind)))?
            .code();
        let state = kouan_model::AlertState::from_proto(record.state)
            .ok_or_else(|| bad("state", format!("unknown alert state {}", record.state)))?
            .code();
        Ok(Self {
            started_at: time("startedAt", &record.started_at)?,
            updated_at: time("updatedAt", &record.updated_at)?,
            resolved_at: time("resolvedAt", &record.resolved_at)?,
            alert_id: Arc::from(record.alert_id),
            shipment_id: Arc::from(record.shipment_id),
            shipper: record.shipper.map(Arc::from),
            kind,
            state,
            node: record.node,
            stage: record.stage,
            observed_hours: record.observed_hours,
            threshold_hours: record.threshold_hours,
            baseline: record.baseline,
            message: record.message,
            origin,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&AlertJson {
            alert_id: &self.alert_id,
            shipment_id: &self.shipment_id,
            shipper: self.shipper.as_deref(),
            kind: self.kind,
            state: self.state,
            node: &self.node,
            stage: &self.stage,
            observed_hours: finite(self.observed_hours),
            threshold_hours: finite(self.threshold_hours),
            baseline: &self.baseline,
            started_at: self.started_at.as_ref(),
            updated_at: self.updated_at.as_ref(),
            resolved_at: self.resolved_at.as_ref(),
            message: &self.message,
        })
        .expect("alerts always serialize")
    }
}

/// JSON has no NaN or infinity; a broken producer must not make the answer unserializable.
fn finite(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}
