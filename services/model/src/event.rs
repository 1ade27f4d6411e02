//! The validated event of EVENTS.md. Values of these types have passed every rule of the
//! contract; build them through [`crate::ndjson`] or [`crate::protobuf`], or check a hand-built
//! one with [`crate::validate::validate`].
//!
//! `Serialize` produces the NDJSON form: lowerCamelCase names, short codes, absent fields omitted.

use crate::codes::*;
use crate::time::Timestamp;
use serde::Serialize;
use std::sync::Arc;

/// An identifier an event carries (its id, an AWB, a container or conveyance reference, a
/// declaration number): held inline up to 24 bytes, as every identifier of the contract is, so
/// that a processor holding hundreds of thousands of events keeps no separate allocation for
/// each, and reads an identifier from the event it is already looking at.
pub type Id = compact_str::CompactString;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unique within `source`; (`source`, `eventId`) identifies the event across versions.
    pub event_id: Id,
    /// Shared, as [`Event::location`]: a source names thousands of events.
    pub source: Arc<str>,
    pub event_time: Timestamp,
    /// When the source recorded this version; a later one replaces an earlier version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_time: Option<Timestamp>,
    /// Kept as given (absent means ACT) so the NDJSON form round-trips.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<Classifier>,
    /// Shared: a processor holding hundreds of thousands of events keeps one copy of each place
    /// (72 bytes and two strings each, in every event, before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Arc<Location>>,
    /// Every version of this (`source`, `eventId`) is void.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retracted: bool,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Location {
    pub unlocode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Exactly one body per event.
///
/// A booking's body is boxed: it is more than twice the size of any other, and an unboxed one
/// made every event of every kind as large (the processor holds hundreds of thousands; 360 bytes
/// each with it inline, 248 boxed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Body {
    Shipment(Box<ShipmentBody>),
    Equipment(EquipmentBody),
    Transport(TransportBody),
    Air(AirBody),
    Customs(CustomsBody),
}

impl From<ShipmentBody> for Body {
    fn from(body: ShipmentBody) -> Self {
        Body::Shipment(Box::new(body))
    }
}

/// Which body an event carries; each kind has its own topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BodyKind {
    Shipment,
    Equipment,
    Transport,
    Air,
    Customs,
}

impl BodyKind {
    pub const ALL: [BodyKind; 5] = [
        BodyKind::Shipment,
        BodyKind::Equipment,
        BodyKind::Transport,
        BodyKind::Air,
        BodyKind::Customs,
    ];

    /// The JSON key of the body, also the last part of its topic name.
    pub fn name(self) -> &'static str {
        match self {
            BodyKind::Shipment => "shipment",
            BodyKind::Equipment => "equipment",
            BodyKind::Transport => "transport",
            BodyKind::Air => "air",
            BodyKind::Customs => "customs",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentBody {
    #[serde(rename = "type")]
    pub kind: ShipmentEventType,
    pub shipment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,
    /// The tenant allowed to see this shipment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipper: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ShipmentMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Absent means the destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_of_entry: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pieces: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs_code: Option<String>,
}

/// The conveyance a LOAD or DISC refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct TransportRef {
    pub mode: TransportMode,
    #[schema(value_type = String)]
    pub reference: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EquipmentBody {
    #[serde(rename = "type")]
    pub kind: EquipmentEventType,
    pub equipment_reference: Id,
    pub empty_indicator: EmptyIndicator,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shipment_ids: Vec<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportBody {
    #[serde(rename = "type")]
    pub kind: TransportEventType,
    pub mode: TransportMode,
    pub reference: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AirBody {
    pub status: AirStatus,
    pub awb: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flight: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pieces: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomsBody {
    pub status: CustomsStatus,
    pub declaration_number: Id,
    pub shipment_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<CustomsProcedure>,
}

impl Body {
    pub fn kind(&self) -> BodyKind {
        match self {
            Body::Shipment(_) => BodyKind::Shipment,
            Body::Equipment(_) => BodyKind::Equipment,
            Body::Transport(_) => BodyKind::Transport,
            Body::Air(_) => BodyKind::Air,
            Body::Customs(_) => BodyKind::Customs,
        }
    }

    /// The body's natural id: the Kafka key of its topic (API.md).
    pub fn natural_key(&self) -> &str {
        match self {
            Body::Shipment(body) => &body.shipment_id,
            Body::Equipment(body) => &body.equipment_reference,
            Body::Transport(body) => &body.reference,
            Body::Air(body) => &body.awb,
            Body::Customs(body) => &body.declaration_number,
        }
    }

    /// The body's type or status code, as milestones show it.
    pub fn code(&self) -> &'static str {
        match self {
            Body::Shipment(body) => body.kind.code(),
            Body::Equipment(body) => body.kind.code(),
            Body::Transport(body) => body.kind.code(),
            Body::Air(body) => body.status.code(),
            Body::Customs(body) => body.status.code(),
        }
    }

    /// A movement of the cargo: an equipment or transport event, or an air status other than a
    /// booking (`BKD`) — not a booking change, not customs paperwork (STATUS.md `lastLocation`).
    /// [`crate::status::is_movement_code`] is the same rule on a milestone's code.
    pub fn is_movement(&self) -> bool {
        match self {
            Body::Transport(_) | Body::Equipment(_) => true,
            Body::Air(body) => body.status != crate::AirStatus::Bkd,
            Body::Shipment(_) | Body::Customs(_) => false,
        }
    }
}

impl Event {
    /// The classifier in force: absent means ACT.
    pub fn classifier(&self) -> Classifier {
        self.classifier.unwrap_or(Classifier::Act)
    }

    /// The recorded time in force: absent means the event time.
    pub fn recorded_time(&self) -> Timestamp {
        self.recorded_time.unwrap_or(self.event_time)
    }

    pub fn kind(&self) -> BodyKind {
        self.body.kind()
    }

    /// The NDJSON form (one line, no trailing newline).
    pub fn to_json(&self) -> String {
        // most lines are 250–450 bytes: one allocation instead of a few regrowths
        let mut out = Vec::with_capacity(512);
        serde_json::to_writer(&mut out, self).expect("events always serialize");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// The canonical JSON used to break ties between versions with equal recorded times: the
    /// NDJSON form with object keys sorted, absent fields omitted, times with their offsets.
    pub fn canonical_json(&self) -> String {
        let value = serde_json::to_value(self).expect("events always serialize");
        let mut out = String::with_capacity(256);
        write_sorted(&value, &mut out);
        out
    }
}

/// Writes JSON with object keys sorted, whatever order the map kept them in (a dependency may
/// turn on serde_json's `preserve_order`).
fn write_sorted(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
