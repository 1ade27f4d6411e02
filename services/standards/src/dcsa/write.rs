//! Equipment and transport events as DCSA T&T 2.2 events (the simulator's DCSA output, and the
//! shape kouan's own DCSA surface serves).

use super::{MODES, TRANSPORT_CODES};
use crate::table::code_of;
use kouan_model::*;
use serde_json::{json, Map, Value};

/// A stable UUID-shaped identifier for (`source`, `eventId`): DCSA's `eventID` is a UUID, and
/// every version of one event keeps its id.
pub fn event_uuid(source: &str, event_id: &str) -> String {
    let first = fnv1a_extend(fnv1a(source.as_bytes()), event_id.as_bytes());
    let second = fnv1a_extend(fnv1a_extend(first, b"\x00kouan"), event_id.as_bytes());
    let hex = format!("{first:016x}{second:016x}");
    format!(
        "{}-{}-8{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The DCSA event for `event`; `None` when DCSA 2.2 cannot say it (a booking's own events, air
/// events, a border crossing, a retraction).
pub fn event(event: &Event) -> Option<Value> {
    if event.retracted {
        return None;
    }
    let mut out = Map::new();
    out.insert(
        "eventID".into(),
        json!(event_uuid(&event.source, &event.event_id)),
    );
    out.insert(
        "eventCreatedDateTime".into(),
        json!(event.recorded_time().to_rfc3339()),
    );
    out.insert("eventDateTime".into(), json!(event.event_time.to_rfc3339()));
    out.insert(
        "eventClassifierCode".into(),
        json!(event.classifier().code()),
    );
    let mut call = Map::new();
    call.insert(
        "transportCallID".into(),
        json!(format!("{:016x}", fnv1a(event.event_id.as_bytes()))),
    );
    if let Some(location) = &event.location {
        call.insert("UNLocationCode".into(), json!(location.unlocode));
        if let Some(facility) = &location.facility {
            call.insert("otherFacility".into(), json!(facility));
        }
        let mut place = Map::new();
        place.insert("UNLocationCode".into(), json!(location.unlocode));
        if let Some(name) = &location.name {
            place.insert("locationName".into(), json!(name));
        }
        out.insert("eventLocation".into(), Value::Object(place));
    }
    match &event.body {
        Body::Equipment(equipment) => {
            out.insert("eventType".into(), json!("EQUIPMENT"));
            out.insert(
                "equipmentEventTypeCode".into(),
                json!(equipment.kind.code()),
            );
            out.insert(
                "equipmentReference".into(),
                json!(equipment.equipment_reference),
            );
            out.insert(
                "emptyIndicatorCode".into(),
                json!(equipment.empty_indicator.code()),
            );
            if let Some(transport) = &equipment.transport {
                call.insert(
                    "modeOfTransport".into(),
                    json!(code_of(MODES, transport.mode)?),
                );
                call.insert("exportVoyageNumber".into(), json!(transport.reference));
            }
            if !equipment.shipment_ids.is_empty() {
                let references: Vec<Value> = equipment
                    .shipment_ids
                    .iter()
                    .map(|id| json!({"documentReferenceType": "TRD", "documentReferenceValue": id}))
                    .collect();
                out.insert("documentReferences".into(), Value::Array(references));
            }
        }
        Body::Transport(transport) => {
            // CROS is read ahead of T&T 3.0, never written as 2.2
            if transport.kind == TransportEventType::BorderCrossed {
                return None;
            }
            let code = code_of(TRANSPORT_CODES, transport.kind)?;
            out.insert("eventType".into(), json!("TRANSPORT"));
            out.insert("transportEventTypeCode".into(), json!(code));
            call.insert(
                "modeOfTransport".into(),
                json!(code_of(MODES, transport.mode)?),
            );
            call.insert("exportVoyageNumber".into(), json!(transport.reference));
        }
        Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => return None,
    }
    out.insert("transportCall".into(), Value::Object(call));
    Some(Value::Object(out))
}
