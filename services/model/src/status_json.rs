//! The status record's JSON form: STATUS.md's names, every field present (absent values are
//! explicit nulls, as are hours that are not finite numbers).

use crate::status::Status;
use crate::{Location, Timestamp};
use serde::Serialize;

impl Status {
    /// The JSON object of STATUS.md for this record as emitted with `version` at `updated_at`
    /// (API.md's answers add `dwellHours`).
    pub fn to_json(&self, version: u64, updated_at: Option<&Timestamp>) -> String {
        serde_json::to_string(&StatusJson::of(self, version, updated_at))
            .expect("status records always serialize")
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
