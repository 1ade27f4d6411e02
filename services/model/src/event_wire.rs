//! An event's protobuf form (`kouan.v1.Event`) written straight from the [`Event`], byte for byte
//! what prost writes from [`crate::protobuf::to_proto`]'s message, without building that message:
//! prost's way copies every string of the event into a message first (some ten allocations an
//! event), which made the processor's parking of finished shipments costly. Held
//! to prost's bytes by a test over the optional fields' corners here, and over the simulator's
//! events in the processor's tests.
//!
//! Every field number of the schema is below 16, so every key is one byte.

use crate::codes::*;
use crate::event::*;
use crate::time::Timestamp;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

/// Appends `event`'s protobuf form to `out`.
pub fn write_event(event: &Event, out: &mut Vec<u8>) {
    string(out, 1, &event.event_id);
    string(out, 2, &event.source);
    nested(out, 3, |out| time(out, &event.event_time));
    if let Some(recorded) = &event.recorded_time {
        nested(out, 4, |out| time(out, recorded));
    }
    enumeration(out, 5, event.classifier.map_or(0, Classifier::to_proto));
    if let Some(location) = &event.location {
        nested(out, 6, |out| {
            string(out, 1, &location.unlocode);
            optional_string(out, 2, location.facility.as_deref());
            optional_string(out, 3, location.name.as_deref());
        });
    }
    if event.retracted {
        key(out, 7, VARINT);
        out.push(1);
    }
    match &event.body {
        Body::Shipment(body) => nested(out, 10, |out| {
            enumeration(out, 1, body.kind.to_proto());
            string(out, 2, &body.shipment_id);
            enumeration(out, 3, body.document_type.map_or(0, DocumentType::to_proto));
            optional_string(out, 4, body.shipper.as_deref());
            enumeration(out, 5, body.mode.map_or(0, ShipmentMode::to_proto));
            enumeration(out, 6, body.direction.map_or(0, Direction::to_proto));
            optional_string(out, 7, body.origin.as_deref());
            optional_string(out, 8, body.destination.as_deref());
            optional_string(out, 9, body.port_of_entry.as_deref());
            for unit in &body.units {
                optional_string(out, 10, Some(unit));
            }
            if let Some(pieces) = body.pieces {
                key(out, 11, VARINT);
                varint(out, u64::from(pieces));
            }
            optional_double(out, 12, body.weight_kg);
            optional_string(out, 13, body.hs_code.as_deref());
        }),
        Body::Equipment(body) => nested(out, 11, |out| {
            enumeration(out, 1, body.kind.to_proto());
            string(out, 2, &body.equipment_reference);
            enumeration(out, 3, body.empty_indicator.to_proto());
            for shipment_id in &body.shipment_ids {
                optional_string(out, 4, Some(shipment_id));
            }
            if let Some(transport) = &body.transport {
                nested(out, 5, |out| {
                    enumeration(out, 1, transport.mode.to_proto());
                    string(out, 2, &transport.reference);
                });
            }
        }),
        Body::Transport(body) => nested(out, 12, |out| {
            enumeration(out, 1, body.kind.to_proto());
            enumeration(out, 2, body.mode.to_proto());
            string(out, 3, &body.reference);
        }),
        Body::Air(body) => nested(out, 13, |out| {
            enumeration(out, 1, body.status.to_proto());
            string(out, 2, &body.awb);
            optional_string(out, 3, body.flight.as_deref());
            if let Some(pieces) = body.pieces {
                key(out, 4, VARINT);
                varint(out, u64::from(pieces));
            }
            optional_double(out, 5, body.weight_kg);
        }),
        Body::Customs(body) => nested(out, 14, |out| {
            enumeration(out, 1, body.status.to_proto());
            string(out, 2, &body.declaration_number);
            string(out, 3, &body.shipment_id);
            enumeration(out, 4, body.direction.map_or(0, Direction::to_proto));
            enumeration(out, 5, body.procedure.map_or(0, CustomsProcedure::to_proto));
        }),
    }
}

fn time(out: &mut Vec<u8>, time: &Timestamp) {
    let seconds = time.unix_seconds();
    if seconds != 0 {
        key(out, 1, VARINT);
        varint(out, seconds as u64);
    }
    let nanos = time.subsec_nanos();
    if nanos != 0 {
        key(out, 2, VARINT);
        varint(out, u64::from(nanos));
    }
    let offset = time.offset_seconds();
    if offset != 0 {
        key(out, 3, VARINT);
        varint(out, u64::from(((offset << 1) ^ (offset >> 31)) as u32));
    }
}

fn key(out: &mut Vec<u8>, tag: u8, wire_type: u8) {
    out.push(tag << 3 | wire_type);
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A proto3 string: written unless empty.
fn string(out: &mut Vec<u8>, tag: u8, value: &str) {
    if !value.is_empty() {
        optional_string(out, tag, Some(value));
    }
}

/// An `optional` (or repeated) string: written whenever present.
fn optional_string(out: &mut Vec<u8>, tag: u8, value: Option<&str>) {
    if let Some(value) = value {
        key(out, tag, LEN);
        varint(out, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }
}

/// A proto3 enum: written unless 0.
fn enumeration(out: &mut Vec<u8>, tag: u8, number: i32) {
    if number != 0 {
        key(out, tag, VARINT);
        // prost writes an int32 as its sign extension to 64 bits
        varint(out, i64::from(number) as u64);
    }
}

fn optional_double(out: &mut Vec<u8>, tag: u8, value: Option<f64>) {
    if let Some(value) = value {
        key(out, tag, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A message field: its key, its length, and what `write` writes. The length is written as one
/// byte first and widened afterwards in the rare case the message is 128 bytes or longer.
fn nested(out: &mut Vec<u8>, tag: u8, write: impl FnOnce(&mut Vec<u8>)) {
    key(out, tag, LEN);
    let at = out.len();
    out.push(0);
    write(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        varint(&mut prefix, len as u64);
        out.splice(at..at + 1, prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::to_proto;
    use prost::Message;

    fn written(event: &Event) -> Vec<u8> {
        let mut out = Vec::new();
        write_event(event, &mut out);
        out
    }

    /// Byte for byte what prost writes, for every kind of event, with the optional fields
    /// present, absent and empty, long bodies and negative offsets.
    #[test]
    fn writes_what_prost_writes() {
        let lines = [
            r#"{"eventId":"b-1","source":"zz-rail","eventTime":"2026-11-20T08:00:00+08:00","recordedTime":"2026-11-20T09:30:00.125-05:00","classifier":"EST","location":{"unlocode":"CNZZP","facility":"ZZ-RAIL","name":"Zhengzhou Putian"},"shipment":{"type":"BOOKED","shipmentId":"ZZHH2611200001","documentType":"RAIL_WAYBILL","shipper":"henan-elec","mode":"RAIL","direction":"EXPORT","origin":"CNZZP","destination":"DEHAM","portOfEntry":null,"units":["CSQU3054383","APZU4812090","CSQU3054383","APZU4812090","CSQU3054383","APZU4812090","CSQU3054383","APZU4812090","CSQU3054383","APZU4812090"],"pieces":40,"weightKg":18250.5,"hsCode":"8471"}}"#,
            r#"{"eventId":"b-2","source":"zz-rail","eventTime":"1970-01-01T00:00:00Z","retracted":true,"shipment":{"type":"CANCELLED","shipmentId":"ZZHH2611200001","units":[]}}"#,
            r#"{"eventId":"e-1","source":"zz-yard","eventTime":"2026-11-01T10:00:00+08:00","location":{"unlocode":"CNZZU"},"equipment":{"type":"STUF","equipmentReference":"CSQU3054383","emptyIndicator":"LADEN","shipmentIds":["ZZHH2611200001","ZZHH2611200002"]}}"#,
            r#"{"eventId":"e-2","source":"zz-yard","eventTime":"2026-11-01T10:00:00+08:00","equipment":{"type":"LOAD","equipmentReference":"CSQU3054383","emptyIndicator":"EMPTY","transport":{"mode":"RAIL","reference":"X8001"}}}"#,
            r#"{"eventId":"t-1","source":"zz-rail","eventTime":"2026-11-01T10:00:00-03:30","transport":{"type":"DEPARTED","mode":"RAIL","reference":"X8001"}}"#,
            r#"{"eventId":"a-1","source":"cgo-cargo","eventTime":"2026-11-01T08:00:00+08:00","air":{"status":"DEP","awb":"172-00000092","flight":"CA1047","pieces":0,"weightKg":0.0}}"#,
            r#"{"eventId":"a-2","source":"cgo-cargo","eventTime":"2026-11-01T08:00:00+08:00","air":{"status":"RCS","awb":"172-00000092"}}"#,
            r#"{"eventId":"c-1","source":"single-window","eventTime":"2026-11-01T08:00:00+08:00","customs":{"status":"RELEASED","declarationNumber":"460420261000123456","shipmentId":"ZZHH2611200001","direction":"IMPORT","procedure":"STANDARD"}}"#,
        ];
        let mut events: Vec<Event> = lines
            .iter()
            .map(|line| crate::ndjson::decode_line(line.as_bytes()).expect(line))
            .collect();
        events.push(with_empty_strings(&events[0]));
        for event in &events {
            assert_eq!(
                written(event),
                to_proto(event).encode_to_vec(),
                "{}",
                event.to_json()
            );
        }
    }

    /// Optional strings present but empty, which prost writes too (not valid input, but the
    /// writer must not depend on validation).
    fn with_empty_strings(booking: &Event) -> Event {
        let mut event = booking.clone();
        event.location = Some(std::sync::Arc::new(Location {
            unlocode: "CNZZP".into(),
            facility: Some(String::new()),
            name: Some(String::new()),
        }));
        if let Body::Shipment(body) = &mut event.body {
            body.shipper = Some(String::new());
            body.hs_code = Some(String::new());
            body.units = vec![String::new()];
            body.weight_kg = Some(-0.0);
        }
        event
    }
}
