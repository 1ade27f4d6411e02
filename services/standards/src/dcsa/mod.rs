//! DCSA Track & Trace 2.2 events (as `GET /v2/events` answers or a subscription callback
//! delivers them) into events, and back (`docs/standards/dcsa.md`).

pub mod published;
pub mod write;

use crate::outcome::{Context, MessageOutcome};
use crate::table::lookup;
use kouan_model::*;
use serde_json::Value;
use std::sync::Arc;

/// DCSA's modes of transport (2.2 has no AIR: air cargo is ONE Record's and Cargo-IMP's).
pub const MODES: &[(&str, TransportMode)] = &[
    ("VESSEL", TransportMode::Vessel),
    ("RAIL", TransportMode::Rail),
    ("TRUCK", TransportMode::Truck),
    ("BARGE", TransportMode::Barge),
];

/// Transport event type codes; `CROS` (border crossing) is T&T 3.0's, read ahead of it.
pub const TRANSPORT_CODES: &[(&str, TransportEventType)] = &[
    ("DEPA", TransportEventType::Departed),
    ("ARRI", TransportEventType::Arrived),
    ("CROS", TransportEventType::BorderCrossed),
];

/// Document reference types whose values are consignments (`shipmentIds`).
pub const SHIPMENT_DOCUMENTS: &[&str] = &["BKG", "TRD"];

/// Every event of `input`: a JSON array of events, or one event.
pub fn parse(input: &[u8], context: &Context) -> Vec<MessageOutcome> {
    let value: Value = match serde_json::from_slice(input) {
        Ok(value) => value,
        Err(error) => {
            return vec![MessageOutcome::rejected(
                "events",
                input.iter().take(4096).copied().collect::<Vec<_>>(),
                Reject::new("(json)", error.to_string()),
            )]
        }
    };
    let events = match value {
        Value::Array(events) => events,
        single @ Value::Object(_) => vec![single],
        _ => {
            return vec![MessageOutcome::rejected(
                "events",
                input.iter().take(4096).copied().collect::<Vec<_>>(),
                Reject::new("(json)", "expected an array of events or one event"),
            )]
        }
    };
    events
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let id = raw.get("eventID").and_then(Value::as_str).unwrap_or("");
            let reference = format!("event {} {id}", index + 1).trim_end().to_string();
            let mut outcome = MessageOutcome::new(reference.clone(), raw.to_string());
            match event(raw, context) {
                Ok(event) => outcome.push_checked(event, &reference),
                Err(reject) => outcome.items.push(Err(Reject::new(
                    format!("{reference} {}", reject.field),
                    reject.reason,
                ))),
            }
            outcome
        })
        .collect()
}

fn text<'a>(value: &'a Value, field: &str) -> Result<&'a str, Reject> {
    match value.get(field) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(Reject::missing(field)),
        Some(_) => Err(Reject::new(field, "must be a string")),
    }
}

fn optional<'a>(value: Option<&'a Value>, field: &str) -> Option<&'a str> {
    value?.get(field)?.as_str().filter(|text| !text.is_empty())
}

fn time(value: &Value, field: &str) -> Result<Timestamp, Reject> {
    Timestamp::parse(text(value, field)?).map_err(|reason| Reject::new(field, reason))
}

fn event(raw: &Value, context: &Context) -> Result<Event, Reject> {
    if !raw.is_object() {
        return Err(Reject::new("(event)", "must be a JSON object"));
    }
    let source = context.source.ok_or_else(|| {
        Reject::new(
            "(source)",
            "DCSA events do not name their publisher: give the carrier as the source (kouan ingest --source, or ?source= on the HTTP intake)",
        )
    })?;
    let event_id = text(raw, "eventID")?;
    let classifier = match text(raw, "eventClassifierCode")? {
        "ACT" => None,
        "EST" => Some(Classifier::Est),
        "PLN" => Some(Classifier::Pln),
        other => {
            return Err(Reject::new(
                "eventClassifierCode",
                format!("{other:?} is not ACT, EST or PLN"),
            ))
        }
    };
    let event_time = time(raw, "eventDateTime")?;
    let recorded_time = time(raw, "eventCreatedDateTime")?;
    let call = raw.get("transportCall").filter(|call| call.is_object());
    let event_location = raw.get("eventLocation").filter(|l| l.is_object());
    let unlocode = optional(event_location, "UNLocationCode")
        .or_else(|| optional(call, "UNLocationCode"))
        .or_else(|| optional(call.and_then(|call| call.get("location")), "UNLocationCode"));
    let location = unlocode.map(|unlocode| Location {
        unlocode: unlocode.to_string(),
        facility: optional(call, "otherFacility")
            .or_else(|| optional(call, "facilityCode"))
            .map(str::to_string),
        name: optional(event_location, "locationName").map(str::to_string),
    });
    let body = match text(raw, "eventType")? {
        "EQUIPMENT" => equipment(raw, call)?,
        "TRANSPORT" => transport(raw, call)?,
        "SHIPMENT" => shipment(raw)?,
        other => {
            return Err(Reject::new(
                "eventType",
                format!("{other:?} is not EQUIPMENT, TRANSPORT or SHIPMENT"),
            ))
        }
    };
    Ok(Event {
        event_id: event_id.into(),
        source: Arc::from(source),
        event_time,
        recorded_time: Some(recorded_time),
        classifier,
        location: location.map(Arc::new),
        retracted: false,
        body,
    })
}

/// The conveyance of a transport call: its mode and its export voyage number (the voyage,
/// train run or truck trip).
fn conveyance(call: Option<&Value>) -> Result<Option<TransportRef>, Reject> {
    let (Some(mode), Some(voyage)) = (
        optional(call, "modeOfTransport"),
        optional(call, "exportVoyageNumber"),
    ) else {
        return Ok(None);
    };
    let mode = lookup(MODES, mode).ok_or_else(|| {
        Reject::new(
            "transportCall.modeOfTransport",
            format!("{mode:?} is not VESSEL, RAIL, TRUCK or BARGE"),
        )
    })?;
    Ok(Some(TransportRef {
        mode,
        reference: voyage.into(),
    }))
}

fn equipment(raw: &Value, call: Option<&Value>) -> Result<Body, Reject> {
    let code = text(raw, "equipmentEventTypeCode")?;
    let kind = EquipmentEventType::from_code(code).ok_or_else(|| {
        Reject::new(
            "equipmentEventTypeCode",
            format!("{code:?} is not one of {}", EquipmentEventType::expected()),
        )
    })?;
    let empty_indicator = match text(raw, "emptyIndicatorCode")? {
        "EMPTY" => EmptyIndicator::Empty,
        "LADEN" => EmptyIndicator::Laden,
        other => {
            return Err(Reject::new(
                "emptyIndicatorCode",
                format!("{other:?} is not EMPTY or LADEN"),
            ))
        }
    };
    let shipment_ids = raw
        .get("documentReferences")
        .and_then(Value::as_array)
        .map(|references| {
            references
                .iter()
                .filter(|reference| {
                    optional(Some(reference), "documentReferenceType")
                        .is_some_and(|kind| SHIPMENT_DOCUMENTS.contains(&kind))
                })
                .filter_map(|reference| optional(Some(reference), "documentReferenceValue"))
                .map(Id::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Body::Equipment(EquipmentBody {
        kind,
        equipment_reference: text(raw, "equipmentReference")?.into(),
        empty_indicator,
        shipment_ids,
        transport: conveyance(call)?,
    }))
}

fn transport(raw: &Value, call: Option<&Value>) -> Result<Body, Reject> {
    let code = text(raw, "transportEventTypeCode")?;
    let kind = lookup(TRANSPORT_CODES, code).ok_or_else(|| {
        Reject::new(
            "transportEventTypeCode",
            format!("{code:?} is not ARRI, DEPA or CROS"),
        )
    })?;
    let conveyance = conveyance(call)?.ok_or_else(|| {
        Reject::new(
            "transportCall",
            "a transport event needs modeOfTransport and exportVoyageNumber",
        )
    })?;
    Ok(Body::Transport(TransportBody {
        kind,
        mode: conveyance.mode,
        reference: conveyance.reference,
    }))
}

/// A booking or transport document voided is the consignment cancelled; DCSA's other document
/// statuses have no counterpart in the event contract (`docs/standards/dcsa.md`).
fn shipment(raw: &Value) -> Result<Body, Reject> {
    let document = text(raw, "documentTypeCode")?;
    let code = text(raw, "shipmentEventTypeCode")?;
    if !SHIPMENT_DOCUMENTS.contains(&document) || code != "VOID" {
        return Err(Reject::new(
            "shipmentEventTypeCode",
            format!(
                "{document} {code} has no counterpart: kouan takes a booking's own events from its booking contract, and reads VOID of a BKG or TRD as the consignment cancelled"
            ),
        ));
    }
    Ok(Body::from(ShipmentBody {
        kind: ShipmentEventType::Cancelled,
        shipment_id: text(raw, "documentID")?.to_string(),
        document_type: (document == "TRD").then_some(DocumentType::BillOfLading),
        shipper: None,
        mode: None,
        direction: None,
        origin: None,
        destination: None,
        port_of_entry: None,
        units: Vec::new(),
        pieces: None,
        weight_kg: None,
        hs_code: None,
    }))
}
