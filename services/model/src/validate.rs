//! The semantic rules of EVENTS.md, shared by the NDJSON and protobuf decoders: identifier
//! formats and check digits, fields each body type needs, and the rule that an actual event
//! cannot be reported more than 24 hours before it happens.
//!
//! Beyond the envelope's required fields, the contract leaves required body fields implicit; we
//! require what the status derivation cannot do without (documented in the README):
//! a booking (`BOOKED`/`UPDATED`) needs `documentType`, `shipper`, `mode`, `direction`, `origin`
//! and `destination`; `LOAD`/`DISC` need `transport`; `MAN`/`DEP`/`ARR`/`RCF` need `flight`;
//! every equipment event needs `emptyIndicator` (mandatory in DCSA).

use crate::codes::*;
use crate::event::*;
use crate::ids;
use crate::reject::Reject;

/// How far after its recorded time an ACT event may claim to have happened.
pub const ACT_FUTURE_TOLERANCE_MILLIS: i64 = 24 * 3600 * 1000;

pub fn validate(event: &Event) -> Result<(), Reject> {
    non_empty("eventId", &event.event_id)?;
    non_empty("source", &event.source)?;
    if let Some(location) = &event.location {
        unlocode("location.unlocode", &location.unlocode)?;
    }
    if event.classifier() == Classifier::Act
        && event.event_time.unix_millis()
            > event.recorded_time().unix_millis() + ACT_FUTURE_TOLERANCE_MILLIS
    {
        return Err(Reject::new(
            "eventTime",
            format!(
                "an ACT event cannot happen more than 24 h after it was recorded ({} is after recordedTime {})",
                event.event_time,
                event.recorded_time()
            ),
        ));
    }
    match &event.body {
        Body::Shipment(body) => shipment(body),
        Body::Equipment(body) => equipment(body),
        Body::Transport(body) => non_empty("transport.reference", &body.reference),
        Body::Air(body) => air(body),
        Body::Customs(body) => customs(body),
    }
}

fn shipment(body: &ShipmentBody) -> Result<(), Reject> {
    non_empty("shipment.shipmentId", &body.shipment_id)?;
    if body.document_type == Some(DocumentType::Awb) {
        ids::check_awb(&body.shipment_id)
            .map_err(|reason| Reject::new("shipment.shipmentId", reason))?;
    }
    if matches!(
        body.kind,
        ShipmentEventType::Booked | ShipmentEventType::Updated
    ) {
        require("shipment.documentType", &body.document_type)?;
        require("shipment.shipper", &body.shipper)?;
        require("shipment.mode", &body.mode)?;
        require("shipment.direction", &body.direction)?;
        require("shipment.origin", &body.origin)?;
        require("shipment.destination", &body.destination)?;
    }
    if let Some(shipper) = &body.shipper {
        non_empty("shipment.shipper", shipper)?;
    }
    for (field, value) in [
        ("shipment.origin", &body.origin),
        ("shipment.destination", &body.destination),
        ("shipment.portOfEntry", &body.port_of_entry),
    ] {
        if let Some(code) = value {
            unlocode(field, code)?;
        }
    }
    for (index, unit) in body.units.iter().enumerate() {
        ids::check_equipment_reference(unit)
            .map_err(|reason| Reject::new(format!("shipment.units[{index}]"), reason))?;
    }
    weight("shipment.weightKg", body.weight_kg)
}

fn equipment(body: &EquipmentBody) -> Result<(), Reject> {
    ids::check_equipment_reference(&body.equipment_reference)
        .map_err(|reason| Reject::new("equipment.equipmentReference", reason))?;
    for (index, shipment_id) in body.shipment_ids.iter().enumerate() {
        non_empty(&format!("equipment.shipmentIds[{index}]"), shipment_id)?;
    }
    match &body.transport {
        Some(transport) => non_empty("equipment.transport.reference", &transport.reference),
        None if matches!(
            body.kind,
            EquipmentEventType::Load | EquipmentEventType::Disc
        ) =>
        {
            Err(Reject::new(
                "equipment.transport",
                format!("is required for {}", body.kind),
            ))
        }
        None => Ok(()),
    }
}

fn air(body: &AirBody) -> Result<(), Reject> {
    ids::check_awb(&body.awb).map_err(|reason| Reject::new("air.awb", reason))?;
    match &body.flight {
        Some(flight) => non_empty("air.flight", flight)?,
        None if matches!(
            body.status,
            AirStatus::Man | AirStatus::Dep | AirStatus::Arr | AirStatus::Rcf
        ) =>
        {
            return Err(Reject::new(
                "air.flight",
                format!("is required for {}", body.status),
            ));
        }
        None => {}
    }
    weight("air.weightKg", body.weight_kg)
}

fn customs(body: &CustomsBody) -> Result<(), Reject> {
    ids::check_declaration_number(&body.declaration_number)
        .map_err(|reason| Reject::new("customs.declarationNumber", reason))?;
    non_empty("customs.shipmentId", &body.shipment_id)
}

fn non_empty(field: &str, value: &str) -> Result<(), Reject> {
    if value.trim().is_empty() {
        Err(Reject::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn require<T>(field: &str, value: &Option<T>) -> Result<(), Reject> {
    match value {
        Some(_) => Ok(()),
        None => Err(Reject::new(
            field,
            "is required for a booking (BOOKED or UPDATED)",
        )),
    }
}

fn unlocode(field: &str, value: &str) -> Result<(), Reject> {
    ids::check_unlocode(value).map_err(|reason| Reject::new(field, reason))
}

fn weight(field: &str, value: Option<f64>) -> Result<(), Reject> {
    match value {
        Some(kg) if !kg.is_finite() || kg < 0.0 => Err(Reject::new(
            field,
            format!("{kg} is not a non-negative number"),
        )),
        _ => Ok(()),
    }
}
