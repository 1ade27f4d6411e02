//! IATA ONE Record LogisticsEvents (data model 3.x, JSON-LD) into air events, and back
//! (`docs/standards/onerecord.md`).
//!
//! kouan reads the compacted shapes ONE Record servers exchange — properties named `cargo:…`
//! or by their full IRI, values plain or as `{"@value": …}` / `{"@id": …}` — without a JSON-LD
//! processor: an input is one LogisticsEvent, an array of them, or an `api:Collection` of them.
//! kouan dereferences no link: the waybill and the flight must be embedded in the event.

pub mod published;
pub mod write;

use crate::air::{self, AirReport};
use crate::outcome::{Context, MessageOutcome};
use crate::zones::read_time;
use chrono::NaiveDate;
use kouan_model::*;
use serde_json::Value;
use std::sync::Arc;

pub const CARGO: &str = "https://onerecord.iata.org/ns/cargo#";
const API: &str = "https://onerecord.iata.org/ns/api#";

/// `cargo:eventTimeType` individuals; REQUESTED (a time asked for, not expected) has no
/// counterpart and is rejected.
pub const TIME_TYPES: &[(&str, Option<Classifier>)] = &[
    ("ACTUAL", None),
    ("ESTIMATED", Some(Classifier::Est)),
    ("EXPECTED", Some(Classifier::Est)),
    ("PLANNED", Some(Classifier::Pln)),
];

/// The property `name` of the cargo (or api) vocabulary, compacted or as a full IRI.
fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let (prefix, local) = name.split_once(':')?;
    let base = if prefix == "api" { API } else { CARGO };
    object
        .get(name)
        .or_else(|| object.get(format!("{base}{local}")))
        .filter(|value| !value.is_null())
}

/// A literal, plain or as `{"@value": …}`, as text.
fn literal(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Object(_) => value.get("@value").and_then(literal),
        Value::Array(items) if items.len() == 1 => literal(&items[0]),
        _ => None,
    }
}

/// The local name of an IRI-valued property (`{"@id": "cargo:ACTUAL"}`, `"cargo:ACTUAL"`, a
/// full IRI ending `#ACTUAL`).
fn individual(value: &Value) -> Option<String> {
    let iri = match value {
        Value::String(text) => text.as_str(),
        Value::Object(_) => value.get("@id")?.as_str()?,
        _ => return None,
    };
    Some(
        iri.rsplit(['#', ':', '/'])
            .next()
            .unwrap_or(iri)
            .to_string(),
    )
}

/// A code list element: its `cargo:code`, or the fragment of its `@id`, or a plain string.
fn code(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().find_map(code),
        Value::Object(_) => get(value, "cargo:code")
            .and_then(literal)
            .or_else(|| individual(value)),
        Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    let matches = |t: &Value| {
        t.as_str()
            .is_some_and(|t| t == format!("cargo:{name}") || t == format!("{CARGO}{name}"))
    };
    match value.get("@type") {
        Some(Value::Array(types)) => types.iter().any(matches),
        Some(one) => matches(one),
        None => false,
    }
}

/// Every LogisticsEvent of `input`.
pub fn parse(input: &[u8], context: &Context) -> Vec<MessageOutcome> {
    let value: Value = match serde_json::from_slice(input) {
        Ok(value) => value,
        Err(error) => {
            return vec![MessageOutcome::rejected(
                "logistics events",
                input.iter().take(4096).copied().collect::<Vec<_>>(),
                Reject::new("(json)", error.to_string()),
            )]
        }
    };
    let events: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => match get(&value, "api:hasItem").or_else(|| value.get("@graph")) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => vec![&value],
        },
        _ => {
            return vec![MessageOutcome::rejected(
                "logistics events",
                input.iter().take(4096).copied().collect::<Vec<_>>(),
                Reject::new(
                    "(json)",
                    "expected a LogisticsEvent, an array of them or an api:Collection",
                ),
            )]
        }
    };
    events
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let id = raw.get("@id").and_then(Value::as_str).unwrap_or("");
            let reference = format!("LogisticsEvent {} {id}", index + 1)
                .trim_end()
                .to_string();
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

fn event(raw: &Value, context: &Context) -> Result<Event, Reject> {
    if !raw.is_object() {
        return Err(Reject::new("(event)", "must be a JSON object"));
    }
    if !is_type(raw, "LogisticsEvent") && !is_type(raw, "StatusUpdateEvent") {
        return Err(Reject::new(
            "@type",
            "must be cargo:LogisticsEvent or cargo:StatusUpdateEvent",
        ));
    }
    let source: Arc<str> = Arc::from(context.source.ok_or_else(|| {
        Reject::new(
            "(source)",
            "a LogisticsEvent names its recorder only by a link: give the publisher as the source (kouan ingest --source, or ?source= on the HTTP intake)",
        )
    })?);
    let status_code = get(raw, "cargo:eventCode")
        .and_then(code)
        .ok_or_else(|| Reject::missing("cargo:eventCode"))?;
    let status = AirStatus::from_code(&status_code).ok_or_else(|| {
        Reject::new(
            "cargo:eventCode",
            format!(
                "status {status_code:?} is not read ({})",
                AirStatus::expected()
            ),
        )
    })?;
    let time = |field: &str| -> Result<Option<Timestamp>, Reject> {
        match get(raw, field) {
            None => Ok(None),
            Some(value) => {
                let text = literal(value)
                    .ok_or_else(|| Reject::new(field, "must be an xsd:dateTime literal"))?;
                read_time(context.zones, &source, &text)
                    .map(Some)
                    .map_err(|reason| Reject::new(field, reason))
            }
        }
    };
    let event_time = time("cargo:eventDate")?.ok_or_else(|| Reject::missing("cargo:eventDate"))?;
    let recorded_time = time("cargo:creationDate")?;
    let classifier = match get(raw, "cargo:eventTimeType") {
        None => None,
        Some(value) => {
            let kind = individual(value)
                .ok_or_else(|| Reject::new("cargo:eventTimeType", "must name an EventTimeType"))?;
            crate::table::lookup(TIME_TYPES, &kind).ok_or_else(|| {
                Reject::new(
                    "cargo:eventTimeType",
                    format!("{kind:?} is not ACTUAL, ESTIMATED, EXPECTED or PLANNED"),
                )
            })?
        }
    };
    let awb = waybill(raw)?;
    let station = get(raw, "cargo:eventLocation")
        .and_then(|location| get(location, "cargo:locationCodes"))
        .and_then(code)
        .ok_or_else(|| Reject::missing("cargo:eventLocation/cargo:locationCodes"))?;
    let station = match station.len() {
        5 => crate::stations::by_unlocode(&station)
            .map(|s| s.iata.to_string())
            .unwrap_or(station),
        _ => station,
    };
    let flight = match get(raw, "cargo:transportMovementReference") {
        None => None,
        Some(movement) => Some(flight(movement)?),
    };
    let pieces = match get(raw, "cargo:recordedPieceCount") {
        None => None,
        Some(value) => Some(
            literal(value)
                .and_then(|text| text.parse::<u32>().ok())
                .ok_or_else(|| Reject::new("cargo:recordedPieceCount", "is not a count"))?,
        ),
    };
    let weight_kg = match get(raw, "cargo:recordedWeight") {
        None => None,
        Some(value) => Some(weight(value)?),
    };
    air::event(AirReport {
        source: source.clone(),
        awb: &awb,
        status,
        station: &station,
        flight: flight
            .as_ref()
            .map(|(number, date)| (number.as_str(), *date)),
        event_time,
        recorded_time,
        classifier,
        pieces,
        weight_kg,
        retracted: false,
    })
    .map_err(|reason| Reject::new("cargo:eventFor", reason))
}

/// The air waybill the event is for: `cargo:eventFor` a Waybill, or a Shipment with its
/// `cargo:waybill`, embedded with `cargo:waybillPrefix` and `cargo:waybillNumber`.
fn waybill(raw: &Value) -> Result<String, Reject> {
    let subject = get(raw, "cargo:eventFor").ok_or_else(|| Reject::missing("cargo:eventFor"))?;
    let waybill = get(subject, "cargo:waybill").unwrap_or(subject);
    let part = |name: &str| get(waybill, name).and_then(literal);
    match (part("cargo:waybillPrefix"), part("cargo:waybillNumber")) {
        (Some(prefix), Some(number)) => Ok(format!("{prefix}-{number}")),
        _ => Err(Reject::new(
            "cargo:eventFor",
            "names no air waybill: embed the Waybill (cargo:waybillPrefix, cargo:waybillNumber), or the Shipment with its cargo:waybill; kouan does not dereference links",
        )),
    }
}

/// The flight: the movement's `cargo:transportIdentifier`, dated by its scheduled outbound
/// movement time (the local date as written, as FSU's flight date).
fn flight(movement: &Value) -> Result<(String, NaiveDate), Reject> {
    let field = "cargo:transportMovementReference";
    let number = get(movement, "cargo:transportIdentifier")
        .and_then(literal)
        .ok_or_else(|| Reject::missing(format!("{field}/cargo:transportIdentifier")))?;
    let times: Vec<&Value> = match get(movement, "cargo:movementTimes") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let scheduled = times
        .iter()
        .find(|time| {
            get(time, "cargo:movementTimeType")
                .and_then(individual)
                .as_deref()
                == Some("SCHEDULED")
                && get(time, "cargo:direction").and_then(individual).as_deref() == Some("OUTBOUND")
        })
        .and_then(|time| get(time, "cargo:movementTimestamp"))
        .and_then(literal)
        .ok_or_else(|| {
            Reject::new(
                format!("{field}/cargo:movementTimes"),
                format!("flight {number} has no SCHEDULED OUTBOUND movement time, which dates it"),
            )
        })?;
    let date = scheduled
        .get(..10)
        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            Reject::new(
                format!("{field}/cargo:movementTimes"),
                format!("{scheduled:?} does not start with a date"),
            )
        })?;
    Ok((number, date))
}

/// A `cargo:Value` weight in kilograms: `cargo:numericalValue` and `cargo:unit` KGM or LBR.
fn weight(value: &Value) -> Result<f64, Reject> {
    let field = "cargo:recordedWeight";
    let amount: f64 = get(value, "cargo:numericalValue")
        .and_then(literal)
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| Reject::new(field, "has no cargo:numericalValue"))?;
    let unit = get(value, "cargo:unit")
        .and_then(code)
        .ok_or_else(|| Reject::new(field, "has no cargo:unit"))?;
    let factor = crate::table::lookup(crate::cargo_xml::WEIGHT_UNITS, &unit)
        .ok_or_else(|| Reject::new(field, format!("unit {unit:?} is neither KGM nor LBR")))?;
    Ok(if factor == 1.0 {
        amount
    } else {
        amount * factor
    })
}
