//! The wire form: one protobuf `kouan.v1.Event` per Kafka record.
//!
//! Protobuf cannot tell an empty string from an absent one, nor enum 0 from an absent enum; both
//! read as "absent". Enum numbers this version does not know are rejected like unknown codes.

use crate::codes::*;
use crate::event::*;
use crate::event_view::{BodyView, EventView};
use crate::pb;
use crate::reject::Reject;
use crate::shared::Shared;
use crate::time::Timestamp;
use crate::validate::validate;
use std::sync::Arc;

/// Decodes and validates one record value.
pub fn decode_event(bytes: &[u8]) -> Result<Event, Reject> {
    decode_with(bytes, None)
}

/// [`decode_event`] naming the copies `shared` holds of the record's place and source (made there
/// on first sight), so that it allocates neither.
pub fn decode_event_shared(bytes: &[u8], shared: &mut Shared) -> Result<Event, Reject> {
    decode_with(bytes, Some(shared))
}

fn decode_with(bytes: &[u8], shared: Option<&mut Shared>) -> Result<Event, Reject> {
    let view = EventView::decode(bytes).map_err(|error| Reject::new("(protobuf)", error))?;
    let event = from_view(view, shared)?;
    validate(&event)?;
    Ok(event)
}

/// Encodes an event as a record value (what prost writes from [`to_proto`]'s message, written
/// straight from the event: [`crate::event_wire`]).
pub fn encode_event(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    crate::event_wire::write_event(event, &mut out);
    out
}

pub fn time_to_proto(time: &Timestamp) -> pb::Time {
    pb::Time {
        unix_seconds: time.unix_seconds(),
        nanos: time.subsec_nanos(),
        offset_seconds: time.offset_seconds(),
    }
}

pub fn time_from_proto(field: &str, time: &pb::Time) -> Result<Timestamp, Reject> {
    Timestamp::from_parts(time.unix_seconds, time.nanos, time.offset_seconds).ok_or_else(|| {
        Reject::new(
            field,
            "time out of range (years 0000-9999, whole-minute offsets)",
        )
    })
}

pub fn location_to_proto(location: &Location) -> pb::Location {
    pb::Location {
        unlocode: location.unlocode.clone(),
        facility: location.facility.clone(),
        name: location.name.clone(),
    }
}

pub fn location_from_proto(location: pb::Location) -> Location {
    Location {
        unlocode: location.unlocode,
        facility: location.facility,
        name: location.name,
    }
}

pub fn to_proto(event: &Event) -> pb::Event {
    use pb::event::Body as B;
    let body = match &event.body {
        Body::Shipment(body) => B::Shipment(pb::ShipmentEvent {
            r#type: body.kind.to_proto(),
            shipment_id: body.shipment_id.clone(),
            document_type: opt_code(body.document_type.map(DocumentType::to_proto)),
            shipper: body.shipper.clone(),
            mode: opt_code(body.mode.map(ShipmentMode::to_proto)),
            direction: opt_code(body.direction.map(Direction::to_proto)),
            origin: body.origin.clone(),
            destination: body.destination.clone(),
            port_of_entry: body.port_of_entry.clone(),
            units: body.units.clone(),
            pieces: body.pieces,
            weight_kg: body.weight_kg,
            hs_code: body.hs_code.clone(),
        }),
        Body::Equipment(body) => B::Equipment(pb::EquipmentEvent {
            r#type: body.kind.to_proto(),
            equipment_reference: body.equipment_reference.to_string(),
            empty_indicator: body.empty_indicator.to_proto(),
            shipment_ids: body.shipment_ids.iter().map(Id::to_string).collect(),
            transport: body.transport.as_ref().map(|t| pb::TransportRef {
                mode: t.mode.to_proto(),
                reference: t.reference.to_string(),
            }),
        }),
        Body::Transport(body) => B::Transport(pb::TransportEvent {
            r#type: body.kind.to_proto(),
            mode: body.mode.to_proto(),
            reference: body.reference.to_string(),
        }),
        Body::Air(body) => B::Air(pb::AirEvent {
            status: body.status.to_proto(),
            awb: body.awb.to_string(),
            flight: body.flight.as_ref().map(Id::to_string),
            pieces: body.pieces,
            weight_kg: body.weight_kg,
        }),
        Body::Customs(body) => B::Customs(pb::CustomsEvent {
            status: body.status.to_proto(),
            declaration_number: body.declaration_number.to_string(),
            shipment_id: body.shipment_id.to_string(),
            direction: opt_code(body.direction.map(Direction::to_proto)),
            procedure: opt_code(body.procedure.map(CustomsProcedure::to_proto)),
        }),
    };
    pb::Event {
        event_id: event.event_id.to_string(),
        source: event.source.to_string(),
        event_time: Some(time_to_proto(&event.event_time)),
        recorded_time: event.recorded_time.as_ref().map(time_to_proto),
        classifier: opt_code(event.classifier.map(Classifier::to_proto)),
        location: event.location.as_deref().map(location_to_proto),
        retracted: event.retracted,
        body: Some(body),
    }
}

fn opt_code(number: Option<i32>) -> i32 {
    number.unwrap_or(0)
}

/// Reads an optional enum: 0 is absent, an unknown number is an error.
fn enum_field<T>(
    field: &str,
    number: i32,
    from_proto: fn(i32) -> Option<T>,
) -> Result<Option<T>, Reject> {
    if number == 0 {
        return Ok(None);
    }
    from_proto(number)
        .map(Some)
        .ok_or_else(|| Reject::new(field, format!("unknown enum number {number}")))
}

fn required_enum<T>(
    field: &str,
    number: i32,
    from_proto: fn(i32) -> Option<T>,
) -> Result<T, Reject> {
    enum_field(field, number, from_proto)?.ok_or_else(|| Reject::missing(field))
}

fn required_string<'a>(field: &str, value: &'a str) -> Result<&'a str, Reject> {
    if value.is_empty() {
        Err(Reject::missing(field))
    } else {
        Ok(value)
    }
}

pub fn from_proto(message: pb::Event) -> Result<Event, Reject> {
    from_view(EventView::of(&message), None)
}

/// The event a record read in place describes (not validated yet), its place and source those
/// `shared` holds when given.
pub fn from_view(message: EventView<'_>, shared: Option<&mut Shared>) -> Result<Event, Reject> {
    let event_id = required_string("eventId", message.event_id)?;
    let source = required_string("source", message.source)?;
    let event_time = time_from_proto(
        "eventTime",
        message
            .event_time
            .as_ref()
            .ok_or_else(|| Reject::missing("eventTime"))?,
    )?;
    let recorded_time = message
        .recorded_time
        .as_ref()
        .map(|time| time_from_proto("recordedTime", time))
        .transpose()?;
    let classifier = enum_field("classifier", message.classifier, Classifier::from_proto)?;
    if let Some(location) = &message.location {
        required_string("location.unlocode", location.unlocode)?;
    }
    let (location, source) = match shared {
        Some(shared) => (
            message.location.map(|location| shared.place(&location)),
            shared.source(source),
        ),
        None => (
            message
                .location
                .map(|location| Arc::new(location.to_location())),
            source.into(),
        ),
    };
    let text = |text: Option<&str>| text.map(str::to_string);
    let ids = |ids: Vec<&str>| ids.into_iter().map(Id::from).collect();
    let body = match message.body {
        None => {
            return Err(Reject::new(
                "(body)",
                "no body: exactly one of shipment, equipment, transport, air, customs is required",
            ))
        }
        Some(BodyView::Shipment(body)) => Body::from(ShipmentBody {
            kind: required_enum("shipment.type", body.kind, ShipmentEventType::from_proto)?,
            shipment_id: required_string("shipment.shipmentId", body.shipment_id)?.to_string(),
            document_type: enum_field(
                "shipment.documentType",
                body.document_type,
                DocumentType::from_proto,
            )?,
            shipper: text(body.shipper),
            mode: enum_field("shipment.mode", body.mode, ShipmentMode::from_proto)?,
            direction: enum_field("shipment.direction", body.direction, Direction::from_proto)?,
            origin: text(body.origin),
            destination: text(body.destination),
            port_of_entry: text(body.port_of_entry),
            units: body.units.into_iter().map(str::to_string).collect(),
            pieces: body.pieces,
            weight_kg: body.weight_kg,
            hs_code: text(body.hs_code),
        }),
        Some(BodyView::Equipment(body)) => Body::Equipment(EquipmentBody {
            kind: required_enum("equipment.type", body.kind, EquipmentEventType::from_proto)?,
            equipment_reference: required_string(
                "equipment.equipmentReference",
                body.equipment_reference,
            )?
            .into(),
            empty_indicator: required_enum(
                "equipment.emptyIndicator",
                body.empty_indicator,
                EmptyIndicator::from_proto,
            )?,
            shipment_ids: ids(body.shipment_ids),
            transport: body
                .transport
                .map(|t| {
                    Ok::<_, Reject>(TransportRef {
                        mode: required_enum(
                            "equipment.transport.mode",
                            t.mode,
                            TransportMode::from_proto,
                        )?,
                        reference: required_string("equipment.transport.reference", t.reference)?
                            .into(),
                    })
                })
                .transpose()?,
        }),
        Some(BodyView::Transport(body)) => Body::Transport(TransportBody {
            kind: required_enum("transport.type", body.kind, TransportEventType::from_proto)?,
            mode: required_enum("transport.mode", body.mode, TransportMode::from_proto)?,
            reference: required_string("transport.reference", body.reference)?.into(),
        }),
        Some(BodyView::Air(body)) => Body::Air(AirBody {
            status: required_enum("air.status", body.status, AirStatus::from_proto)?,
            awb: required_string("air.awb", body.awb)?.into(),
            flight: body.flight.map(Id::from),
            pieces: body.pieces,
            weight_kg: body.weight_kg,
        }),
        Some(BodyView::Customs(body)) => Body::Customs(CustomsBody {
            status: required_enum("customs.status", body.status, CustomsStatus::from_proto)?,
            declaration_number: required_string(
                "customs.declarationNumber",
                body.declaration_number,
            )?
            .into(),
            shipment_id: required_string("customs.shipmentId", body.shipment_id)?.into(),
            direction: enum_field("customs.direction", body.direction, Direction::from_proto)?,
            procedure: enum_field(
                "customs.procedure",
                body.procedure,
                CustomsProcedure::from_proto,
            )?,
        }),
    };
    Ok(Event {
        event_id: event_id.into(),
        source,
        event_time,
        recorded_time,
        classifier,
        location,
        retracted: message.retracted,
        body,
    })
}
