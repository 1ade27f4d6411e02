//! The external form: one JSON event per line (EVENTS.md).
//!
//! Decoding goes through loosely typed `Raw*` structs so that a bad value is reported by its JSON
//! path (`equipment.type: unknown value "LAOD", expected one of …`) rather than as a generic
//! deserialisation failure; then [`crate::validate`] applies the semantic rules. Unknown fields
//! are ignored so that producers can add fields without breaking older consumers.

use crate::codes::*;
use crate::event::*;
use crate::reject::Reject;
use crate::time::Timestamp;
use crate::validate::validate;
use serde::Deserialize;

/// Decodes and validates one NDJSON line (without its newline).
pub fn decode_line(line: &[u8]) -> Result<Event, Reject> {
    // serde would also accept a JSON array as a struct in field order; an event is an object.
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Reject::new("(json)", "an event must be a JSON object"));
    }
    // Tracking the JSON path costs on every field; a valid line (nearly all) does not need it, so
    // only a line that fails is decoded again to say where.
    let raw: RawEvent = match serde_json::from_slice(line) {
        Ok(raw) => raw,
        Err(error) => return Err(decode_error(line, error)),
    };
    let event = raw.into_event()?;
    validate(&event)?;
    Ok(event)
}

/// Why `line` does not decode (`first` says so without a path), with the JSON path of the value
/// at fault.
fn decode_error(line: &[u8], first: serde_json::Error) -> Reject {
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let decoded: Result<RawEvent, _> = serde_path_to_error::deserialize(&mut deserializer);
    let error = match decoded {
        // Only trailing characters fail after a whole event; `first` is that error then.
        Ok(_) => return Reject::new("(json)", first.to_string()),
        Err(error) => error,
    };
    let path = error.path().to_string();
    let inner = error.into_inner();
    // A syntax error is about the line, not about the field the parser happened to be in.
    let field = if path == "." || inner.is_syntax() || inner.is_eof() {
        "(json)".to_string()
    } else {
        path
    };
    Reject::new(field, inner.to_string())
}

/// Encodes one event as a line of NDJSON (without the newline).
pub fn encode_line(event: &Event) -> String {
    event.to_json()
}

#[derive(Deserialize)]
#[serde(rename = "Event", rename_all = "camelCase")]
struct RawEvent {
    event_id: Option<Id>,
    source: Option<String>,
    event_time: Option<String>,
    recorded_time: Option<String>,
    classifier: Option<String>,
    location: Option<RawLocation>,
    retracted: Option<bool>,
    shipment: Option<RawShipment>,
    equipment: Option<RawEquipment>,
    transport: Option<RawTransport>,
    air: Option<RawAir>,
    customs: Option<RawCustoms>,
}

#[derive(Deserialize)]
struct RawLocation {
    unlocode: Option<String>,
    facility: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawShipment {
    #[serde(rename = "type")]
    kind: Option<String>,
    shipment_id: Option<String>,
    document_type: Option<String>,
    shipper: Option<String>,
    mode: Option<String>,
    direction: Option<String>,
    origin: Option<String>,
    destination: Option<String>,
    port_of_entry: Option<String>,
    units: Option<Vec<String>>,
    pieces: Option<u32>,
    weight_kg: Option<f64>,
    hs_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEquipment {
    #[serde(rename = "type")]
    kind: Option<String>,
    equipment_reference: Option<Id>,
    empty_indicator: Option<String>,
    shipment_ids: Option<Vec<Id>>,
    transport: Option<RawTransportRef>,
}

#[derive(Deserialize)]
struct RawTransportRef {
    mode: Option<String>,
    reference: Option<Id>,
}

#[derive(Deserialize)]
struct RawTransport {
    #[serde(rename = "type")]
    kind: Option<String>,
    mode: Option<String>,
    reference: Option<Id>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAir {
    status: Option<String>,
    awb: Option<Id>,
    flight: Option<Id>,
    pieces: Option<u32>,
    weight_kg: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCustoms {
    status: Option<String>,
    declaration_number: Option<Id>,
    shipment_id: Option<Id>,
    direction: Option<String>,
    procedure: Option<String>,
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, Reject> {
    value.ok_or_else(|| Reject::missing(field))
}

fn time(field: &str, value: Option<String>) -> Result<Option<Timestamp>, Reject> {
    value
        .map(|text| Timestamp::parse(&text).map_err(|reason| Reject::new(field, reason)))
        .transpose()
}

/// Parses an optional short code, naming the accepted ones when it is not among them.
fn code<T>(
    field: &str,
    value: Option<String>,
    from_code: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<Option<T>, Reject> {
    value
        .map(|text| {
            from_code(&text).ok_or_else(|| {
                Reject::new(
                    field,
                    format!("unknown value `{text}`, expected one of {}", expected()),
                )
            })
        })
        .transpose()
}

macro_rules! code {
    ($field:expr, $value:expr, $ty:ty) => {
        code($field, $value, <$ty>::from_code, <$ty>::expected)
    };
}

impl RawEvent {
    fn into_event(self) -> Result<Event, Reject> {
        let event_id = required("eventId", self.event_id)?;
        let source = required("source", self.source)?;
        let event_time = required("eventTime", time("eventTime", self.event_time)?)?;
        let recorded_time = time("recordedTime", self.recorded_time)?;
        let classifier = code!("classifier", self.classifier, Classifier)?;
        let location = self
            .location
            .map(|raw| {
                Ok::<_, Reject>(Location {
                    unlocode: required("location.unlocode", raw.unlocode)?,
                    facility: raw.facility,
                    name: raw.name,
                })
            })
            .transpose()?;
        let bodies = [
            self.shipment.is_some(),
            self.equipment.is_some(),
            self.transport.is_some(),
            self.air.is_some(),
            self.customs.is_some(),
        ];
        let body_count = bodies.iter().filter(|present| **present).count();
        if body_count != 1 {
            let reason = if body_count == 0 {
                "no body: exactly one of shipment, equipment, transport, air, customs is required"
            } else {
                "more than one body: exactly one of shipment, equipment, transport, air, customs is allowed"
            };
            return Err(Reject::new("(body)", reason));
        }
        let body = if let Some(raw) = self.shipment {
            Body::Shipment(Box::new(raw.into_body()?))
        } else if let Some(raw) = self.equipment {
            Body::Equipment(raw.into_body()?)
        } else if let Some(raw) = self.transport {
            Body::Transport(raw.into_body()?)
        } else if let Some(raw) = self.air {
            Body::Air(raw.into_body()?)
        } else {
            Body::Customs(self.customs.expect("counted above").into_body()?)
        };
        Ok(Event {
            event_id,
            source: source.into(),
            event_time,
            recorded_time,
            classifier,
            location: location.map(std::sync::Arc::new),
            retracted: self.retracted.unwrap_or(false),
            body,
        })
    }
}

impl RawShipment {
    fn into_body(self) -> Result<ShipmentBody, Reject> {
        Ok(ShipmentBody {
            kind: required(
                "shipment.type",
                code!("shipment.type", self.kind, ShipmentEventType)?,
            )?,
            shipment_id: required("shipment.shipmentId", self.shipment_id)?,
            document_type: code!("shipment.documentType", self.document_type, DocumentType)?,
            shipper: self.shipper,
            mode: code!("shipment.mode", self.mode, ShipmentMode)?,
            direction: code!("shipment.direction", self.direction, Direction)?,
            origin: self.origin,
            destination: self.destination,
            port_of_entry: self.port_of_entry,
            units: self.units.unwrap_or_default(),
            pieces: self.pieces,
            weight_kg: self.weight_kg,
            hs_code: self.hs_code,
        })
    }
}

impl RawEquipment {
    fn into_body(self) -> Result<EquipmentBody, Reject> {
        let transport = self
            .transport
            .map(|raw| {
                Ok::<_, Reject>(TransportRef {
                    mode: required(
                        "equipment.transport.mode",
                        code!("equipment.transport.mode", raw.mode, TransportMode)?,
                    )?,
                    reference: required("equipment.transport.reference", raw.reference)?,
                })
            })
            .transpose()?;
        Ok(EquipmentBody {
            kind: required(
                "equipment.type",
                code!("equipment.type", self.kind, EquipmentEventType)?,
            )?,
            equipment_reference: required(
                "equipment.equipmentReference",
                self.equipment_reference,
            )?,
            empty_indicator: required(
                "equipment.emptyIndicator",
                code!(
                    "equipment.emptyIndicator",
                    self.empty_indicator,
                    EmptyIndicator
                )?,
            )?,
            shipment_ids: self.shipment_ids.unwrap_or_default(),
            transport,
        })
    }
}

impl RawTransport {
    fn into_body(self) -> Result<TransportBody, Reject> {
        Ok(TransportBody {
            kind: required(
                "transport.type",
                code!("transport.type", self.kind, TransportEventType)?,
            )?,
            mode: required(
                "transport.mode",
                code!("transport.mode", self.mode, TransportMode)?,
            )?,
            reference: required("transport.reference", self.reference)?,
        })
    }
}

impl RawAir {
    fn into_body(self) -> Result<AirBody, Reject> {
        Ok(AirBody {
            status: required("air.status", code!("air.status", self.status, AirStatus)?)?,
            awb: required("air.awb", self.awb)?,
            flight: self.flight,
            pieces: self.pieces,
            weight_kg: self.weight_kg,
        })
    }
}

impl RawCustoms {
    fn into_body(self) -> Result<CustomsBody, Reject> {
        Ok(CustomsBody {
            status: required(
                "customs.status",
                code!("customs.status", self.status, CustomsStatus)?,
            )?,
            declaration_number: required("customs.declarationNumber", self.declaration_number)?,
            shipment_id: required("customs.shipmentId", self.shipment_id)?,
            direction: code!("customs.direction", self.direction, Direction)?,
            procedure: code!("customs.procedure", self.procedure, CustomsProcedure)?,
        })
    }
}
