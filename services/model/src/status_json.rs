//! The status record's JSON form: STATUS.md's names, every field present (absent values are
//! explicit nulls, as are hours that are not finite numbers).

use crate::status::Status;
use crate::{Classifier, CustomsState, Direction, DocumentType, Location, ShipmentMode};
use crate::{EmptyIndicator, Timestamp, TransportRef, TransportStage};
use serde::Serialize;
use utoipa::ToSchema;

impl Status {
    /// The JSON object of STATUS.md for this record as emitted with `version` at `updated_at`
    /// (API.md's answers add `dwellHours`).
    pub fn to_json(&self, version: u64, updated_at: Option<&Timestamp>) -> String {
        serde_json::to_string(&self.json_view(version, updated_at))
            .expect("status records always serialize")
    }

    /// The record's JSON form as a value to serialize.
    pub fn json_view<'a>(
        &'a self,
        version: u64,
        updated_at: Option<&'a Timestamp>,
    ) -> StatusJson<'a> {
        StatusJson::of(self, version, updated_at)
    }
}

/// STATUS.md's JSON names; absent values are explicit nulls so every record has every field.
/// Its OpenAPI schema is the status record of the HTTP API.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Status)]
pub struct StatusJson<'a> {
    shipment_id: &'a str,
    #[schema(required = true)]
    document_type: Option<DocumentType>,
    #[schema(required = true)]
    shipper: Option<&'a str>,
    #[schema(required = true)]
    mode: Option<ShipmentMode>,
    #[schema(required = true)]
    direction: Option<Direction>,
    #[schema(required = true)]
    origin: Option<&'a str>,
    #[schema(required = true)]
    destination: Option<&'a str>,
    #[schema(required = true)]
    port_of_entry: Option<&'a str>,
    units: &'a [String],
    #[schema(required = true)]
    booked_at: Option<&'a Timestamp>,
    #[schema(required = true)]
    received_at: Option<&'a Timestamp>,
    #[schema(required = true)]
    departed_at: Option<&'a Timestamp>,
    #[schema(required = true)]
    arrived_at: Option<&'a Timestamp>,
    #[schema(required = true)]
    delivered_at: Option<&'a Timestamp>,
    #[schema(required = true)]
    declared_at: Option<&'a Timestamp>,
    customs_status: CustomsState,
    #[schema(required = true)]
    released_at: Option<&'a Timestamp>,
    inspected: bool,
    transport_stage: TransportStage,
    #[schema(required = true)]
    advance_declared: Option<bool>,
    #[schema(required = true)]
    clearance_hours: Option<f64>,
    #[schema(required = true)]
    eta: Option<&'a Timestamp>,
    #[schema(required = true)]
    last_location: Option<&'a Location>,
    #[schema(required = true)]
    dwell_since: Option<&'a Timestamp>,
    milestones: Vec<MilestoneJson<'a>>,
    version: u64,
    #[schema(required = true)]
    updated_at: Option<&'a Timestamp>,
}

/// One entry of `milestones`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Milestone)]
pub struct MilestoneJson<'a> {
    /// The event body's type or status code, e.g. `LOAD`, `DEP`, `RELEASED`.
    code: &'static str,
    event_time: &'a Timestamp,
    classifier: Classifier,
    #[schema(required = true)]
    location: Option<&'a Location>,
    source: &'a str,
    event_id: &'a str,
    /// When the source recorded the version counted; absent when it gave no time.
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_time: Option<&'a Timestamp>,
    /// Equipment events: the container or wagon.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    /// Equipment events: whether the unit was empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    empty_indicator: Option<EmptyIndicator>,
    /// An equipment event's transport, a transport event's own, an air event's flight.
    #[serde(skip_serializing_if = "Option::is_none")]
    conveyance: Option<&'a TransportRef>,
    /// Customs events: the declaration number.
    #[serde(skip_serializing_if = "Option::is_none")]
    declaration: Option<&'a str>,
}

impl<'a> StatusJson<'a> {
    fn of(status: &'a Status, version: u64, updated_at: Option<&'a Timestamp>) -> Self {
        Self {
            shipment_id: &status.shipment_id,
            document_type: status.document_type,
            shipper: status.shipper.as_deref(),
            mode: status.mode,
            direction: status.direction,
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
            customs_status: status.customs_status,
            released_at: status.released_at.as_ref(),
            inspected: status.inspected,
            transport_stage: status.transport_stage,
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
                    classifier: m.classifier,
                    location: m.location.as_ref(),
                    source: &m.source,
                    event_id: &m.event_id,
                    recorded_time: m.recorded_time.as_ref(),
                    unit: m.unit.as_deref(),
                    empty_indicator: m.empty_indicator,
                    conveyance: m.conveyance.as_ref(),
                    declaration: m.declaration.as_deref(),
                })
                .collect(),
            version,
            updated_at,
        }
    }
}
