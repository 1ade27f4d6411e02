//! A shipment's milestones as DCSA Track & Trace 2.2 events: what `kouan serve` answers under
//! `/dcsa/tnt/v2` and pushes to DCSA subscriptions (`docs/standards/dcsa-out.md`, the table a
//! reviewer checks line by line). Pure: a status record in, events out.

use super::{MODES, TRANSPORT_CODES};
use crate::dcsa::write::event_uuid;
use crate::table::code_of;
use kouan_model::status::Milestone;
use kouan_model::*;
use serde_json::{json, Map, Value};

/// One DCSA event as kouan publishes it, before the caller's references are added.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    /// A UUID derived from the event's (`source`, `eventId`): every version keeps it.
    pub event_id: String,
    /// `eventCreatedDateTime`: the version's `recordedTime`, else its `eventTime`.
    pub created: Timestamp,
    pub event_time: Timestamp,
    pub classifier: Classifier,
    pub location: Option<Location>,
    pub body: PublishedBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PublishedBody {
    Shipment {
        /// `shipmentEventTypeCode`
        code: &'static str,
        /// `documentTypeCode`: `BKG` for bookings, `CUS` for customs.
        document_type: &'static str,
        /// The booking reference (the shipment id) or the declaration number.
        document_id: String,
        reason: Option<&'static str>,
    },
    Transport {
        /// `ARRI` or `DEPA`.
        code: &'static str,
        call: TransportCall,
    },
    Equipment {
        code: &'static str,
        unit: String,
        empty: EmptyIndicator,
        call: Option<TransportCall>,
    },
}

/// DCSA's transport call: a conveyance at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportCall {
    /// Derived from the mode, the conveyance and the place: the arrival and the departure of
    /// one call share it.
    pub id: String,
    /// `modeOfTransport`
    pub mode: &'static str,
    /// `exportVoyageNumber`: the conveyance's reference (a train run, a voyage, a truck trip).
    pub voyage: String,
}

impl PublishedEvent {
    /// `eventType`
    pub fn event_type(&self) -> &'static str {
        match self.body {
            PublishedBody::Shipment { .. } => "SHIPMENT",
            PublishedBody::Transport { .. } => "TRANSPORT",
            PublishedBody::Equipment { .. } => "EQUIPMENT",
        }
    }

    /// The transport call, where the event has one.
    pub fn call(&self) -> Option<&TransportCall> {
        match &self.body {
            PublishedBody::Shipment { .. } => None,
            PublishedBody::Transport { call, .. } => Some(call),
            PublishedBody::Equipment { call, .. } => call.as_ref(),
        }
    }

    /// The event as DCSA's JSON, with `documentReferences` naming `bookings` (the caller's
    /// shipments this event belongs to).
    pub fn to_json(&self, bookings: &[&str]) -> Value {
        let mut out = Map::new();
        out.insert("eventID".into(), json!(self.event_id));
        out.insert("eventType".into(), json!(self.event_type()));
        out.insert(
            "eventCreatedDateTime".into(),
            json!(self.created.to_rfc3339()),
        );
        out.insert("eventDateTime".into(), json!(self.event_time.to_rfc3339()));
        out.insert("eventClassifierCode".into(), json!(self.classifier.code()));
        let call = |call: &TransportCall| {
            let mut object = Map::new();
            object.insert("transportCallID".into(), json!(call.id));
            object.insert("exportVoyageNumber".into(), json!(call.voyage));
            object.insert("modeOfTransport".into(), json!(call.mode));
            if let Some(location) = &self.location {
                object.insert("UNLocationCode".into(), json!(location.unlocode));
                if let Some(facility) = &location.facility {
                    object.insert("otherFacility".into(), json!(facility));
                }
            }
            Value::Object(object)
        };
        match &self.body {
            PublishedBody::Shipment {
                code,
                document_type,
                document_id,
                reason,
            } => {
                out.insert("shipmentEventTypeCode".into(), json!(code));
                out.insert("documentTypeCode".into(), json!(document_type));
                out.insert("documentID".into(), json!(document_id));
                if let Some(reason) = reason {
                    out.insert("reason".into(), json!(reason));
                }
            }
            PublishedBody::Transport { code, call: c } => {
                out.insert("transportEventTypeCode".into(), json!(code));
                out.insert("transportCall".into(), call(c));
            }
            PublishedBody::Equipment {
                code,
                unit,
                empty,
                call: c,
            } => {
                out.insert("equipmentEventTypeCode".into(), json!(code));
                out.insert("equipmentReference".into(), json!(unit));
                out.insert("emptyIndicatorCode".into(), json!(empty.code()));
                if let Some(location) = &self.location {
                    let mut place = Map::new();
                    place.insert("UNLocationCode".into(), json!(location.unlocode));
                    if let Some(name) = &location.name {
                        place.insert("locationName".into(), json!(name));
                    }
                    out.insert("eventLocation".into(), Value::Object(place));
                }
                if let Some(c) = c {
                    out.insert("transportCall".into(), call(c));
                }
            }
        }
        if !bookings.is_empty() && !matches!(self.body, PublishedBody::Shipment { .. }) {
            let references: Vec<Value> = bookings
                .iter()
                .map(|id| json!({"documentReferenceType": "BKG", "documentReferenceValue": id}))
                .collect();
            out.insert("documentReferences".into(), Value::Array(references));
        }
        Value::Object(out)
    }
}

/// The DCSA events of a shipment: one per milestone DCSA 2.2 can say. An air shipment has none
/// (its events are ONE Record's); a border crossing, an air status and a milestone without what
/// DCSA requires (an equipment event without its unit, a transport event without its
/// conveyance) have none either.
pub fn events_of(status: &Status) -> Vec<PublishedEvent> {
    if status.mode == Some(ShipmentMode::Air) || status.document_type == Some(DocumentType::Awb) {
        return Vec::new();
    }
    status
        .milestones
        .iter()
        .filter_map(|m| published(&status.shipment_id, m))
        .collect()
}

/// One milestone as a DCSA event, when DCSA 2.2 can say it.
pub fn published(shipment_id: &str, milestone: &Milestone) -> Option<PublishedEvent> {
    let body = body(shipment_id, milestone)?;
    Some(PublishedEvent {
        event_id: event_uuid(&milestone.source, &milestone.event_id),
        created: milestone.recorded_time.unwrap_or(milestone.event_time),
        event_time: milestone.event_time,
        classifier: milestone.classifier,
        location: milestone.location.clone(),
        body,
    })
}

fn body(shipment_id: &str, milestone: &Milestone) -> Option<PublishedBody> {
    let code = milestone.code;
    if let Some(kind) = ShipmentEventType::from_code(code) {
        let (code, reason) = booking_code(kind);
        return Some(PublishedBody::Shipment {
            code,
            document_type: "BKG",
            document_id: shipment_id.to_string(),
            reason,
        });
    }
    if let Some(status) = CustomsStatus::from_code(code) {
        let (code, reason) = customs_code(status);
        return Some(PublishedBody::Shipment {
            code,
            document_type: "CUS",
            document_id: milestone
                .declaration
                .clone()
                .unwrap_or_else(|| shipment_id.to_string()),
            reason: Some(reason),
        });
    }
    let call = || transport_call(milestone);
    if let Some(kind) = TransportEventType::from_code(code) {
        // 2.2 has only ARRI and DEPA; CROS is read ahead of T&T 3.0, never written as 2.2
        if kind == TransportEventType::BorderCrossed {
            return None;
        }
        return Some(PublishedBody::Transport {
            code: code_of(TRANSPORT_CODES, kind)?,
            call: call()?,
        });
    }
    if let Some(kind) = EquipmentEventType::from_code(code) {
        return Some(PublishedBody::Equipment {
            code: kind.code(),
            unit: milestone.unit.clone()?,
            empty: milestone.empty_indicator?,
            call: call(),
        });
    }
    None
}

fn transport_call(milestone: &Milestone) -> Option<TransportCall> {
    let conveyance = milestone.conveyance.as_ref()?;
    let mode = code_of(MODES, conveyance.mode)?;
    let place = milestone
        .location
        .as_ref()
        .map_or("", |l| l.unlocode.as_str());
    Some(TransportCall {
        id: transport_call_id(mode, &conveyance.reference, place),
        mode,
        voyage: conveyance.reference.to_string(),
    })
}

/// A transport call's identifier: stable for (mode, conveyance, place), 16 hex digits.
pub fn transport_call_id(mode: &str, reference: &str, place: &str) -> String {
    let mut hash = FNV1A_START;
    for part in [mode, reference, place] {
        hash = fnv1a_extend(fnv1a_extend(hash, part.as_bytes()), b"\x1f");
    }
    format!("{hash:016x}")
}

/// A booking event's `shipmentEventTypeCode` and reason.
pub fn booking_code(kind: ShipmentEventType) -> (&'static str, Option<&'static str>) {
    match kind {
        ShipmentEventType::Booked => ("CONF", None),
        ShipmentEventType::Updated => ("CONF", Some("booking updated")),
        ShipmentEventType::Cancelled => ("VOID", Some("booking cancelled")),
    }
}

/// A customs status's `shipmentEventTypeCode` (document type `CUS`) and reason: the reason
/// names kouan's status, so that two statuses sharing a DCSA code stay apart.
pub fn customs_code(status: CustomsStatus) -> (&'static str, &'static str) {
    match status {
        CustomsStatus::SummaryDeclared => ("SUBM", "summary declaration lodged"),
        CustomsStatus::Declared => ("SUBM", "declaration lodged"),
        CustomsStatus::Accepted => ("RECE", "declaration accepted"),
        CustomsStatus::Reviewed => ("APPR", "declaration reviewed"),
        CustomsStatus::SupplementRequired => ("PENU", "supplement required"),
        CustomsStatus::DutyDue => ("HOLD", "duty due"),
        CustomsStatus::InspectionNotice => ("REQS", "inspection requested"),
        CustomsStatus::Inspected => ("CMPL", "inspection completed"),
        CustomsStatus::Suspended => ("HOLD", "clearance suspended"),
        CustomsStatus::Rejected => ("REJE", "declaration rejected"),
        CustomsStatus::Released => ("RELS", "released"),
        CustomsStatus::Closed => ("CMPL", "declaration closed"),
    }
}
