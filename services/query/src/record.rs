//! One shipment's latest status record as the store keeps it: the typed fields the indexes and
//! the Arrow snapshot need, and its JSON form (STATUS.md names) rendered once per change.

use crate::error::QueryError;
use kouan_model::{
    Alert, CustomsState, PublishedStatus, ShipmentMode, Status, Timestamp, TransportStage,
};
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
        let published = PublishedStatus::decode(bytes).map_err(QueryError::from)?;
        Ok(Self::new(
            published.status,
            published.version,
            published.updated_at,
            origin,
        ))
    }

    pub fn new(
        status: Status,
        version: u64,
        updated_at: Option<Timestamp>,
        origin: Origin,
    ) -> Self {
        let json = status.to_json(version, updated_at.as_ref());
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

    /// Hours waited at the current node by `now_millis` (STATUS.md: while it is still there).
    pub fn dwell_hours(&self, now_millis: i64) -> Option<f64> {
        self.status.dwell_hours(now_millis)
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

/// One alert's latest record, with the ids the indexes share.
#[derive(Debug)]
pub struct AlertRecord {
    pub alert_id: Arc<str>,
    pub shipment_id: Arc<str>,
    pub shipper: Option<Arc<str>>,
    pub alert: Alert,
    pub origin: Origin,
}

impl AlertRecord {
    /// Decodes a `kouan.alerts` record; errors name the field at fault.
    pub fn decode(bytes: &[u8], origin: Origin) -> Result<Self, QueryError> {
        let alert = Alert::decode(bytes).map_err(QueryError::from)?;
        Ok(Self {
            alert_id: Arc::from(alert.alert_id.as_str()),
            shipment_id: Arc::from(alert.shipment_id.as_str()),
            shipper: alert.shipper.as_deref().map(Arc::from),
            alert,
            origin,
        })
    }

    pub fn is_firing(&self) -> bool {
        self.alert.is_firing()
    }

    pub fn to_json(&self) -> String {
        self.alert.to_json()
    }
}
