//! Air events as ONE Record StatusUpdateEvents (the simulator's ONE Record output), with the
//! waybill and the flight embedded, as kouan reads them.

use super::CARGO;
use crate::air;
use kouan_model::*;
use serde_json::{json, Value};

fn date_time(at: Timestamp) -> Value {
    json!({"@type": "http://www.w3.org/2001/XMLSchema#dateTime", "@value": at.to_rfc3339()})
}

/// The LogisticsEvent of one air event; `None` when ONE Record cannot say it the same: not an
/// air event, a retraction (ONE Record's events are immutable), a place outside the station
/// table, a flight reference that is not `NUMBER-YYYYMMDD`.
pub fn logistics_event(event: &Event, publisher: &str) -> Option<Value> {
    let Body::Air(body) = &event.body else {
        return None;
    };
    if event.retracted {
        return None;
    }
    let station = air::station_of(event)?;
    let (prefix, number) = body.awb.as_str().split_once('-')?;
    let time_type = match event.classifier() {
        Classifier::Act => "cargo:ACTUAL",
        Classifier::Est => "cargo:ESTIMATED",
        Classifier::Pln => "cargo:PLANNED",
    };
    let id = format!(
        "https://{publisher}.example/logistics-objects/awb-{}/logistics-events/{}",
        body.awb,
        slug(event.event_id.as_str())
    );
    let mut value = json!({
        "@context": {"cargo": CARGO},
        "@id": id,
        "@type": "cargo:StatusUpdateEvent",
        "cargo:eventCode": {
            "@type": "cargo:CodeListElement",
            "@id": format!("https://onerecord.iata.org/ns/code-lists/StatusCode#{}", body.status.code()),
            "cargo:code": body.status.code(),
        },
        "cargo:eventDate": date_time(event.event_time),
        "cargo:eventTimeType": {"@id": time_type, "@type": "cargo:EventTimeType"},
        "cargo:eventFor": {
            "@type": "cargo:Shipment",
            "cargo:waybill": {
                "@type": "cargo:Waybill",
                "cargo:waybillType": {"@id": "cargo:MASTER"},
                "cargo:waybillPrefix": prefix,
                "cargo:waybillNumber": number,
            },
        },
        "cargo:eventLocation": {
            "@type": "cargo:Location",
            "cargo:locationCodes": [{"@type": "cargo:CodeListElement", "cargo:code": station.iata}],
        },
    });
    let object = value.as_object_mut().expect("built as an object");
    if let Some(recorded) = event.recorded_time {
        object.insert("cargo:creationDate".into(), date_time(recorded));
    }
    if let Some(flight) = &body.flight {
        let (number, date) = air::flight_parts(flight)?;
        object.insert(
            "cargo:transportMovementReference".into(),
            json!({
                "@type": "cargo:TransportMovement",
                "cargo:transportIdentifier": number,
                "cargo:movementTimes": [{
                    "@type": "cargo:MovementTime",
                    "cargo:movementTimeType": {"@id": "cargo:SCHEDULED"},
                    "cargo:direction": {"@id": "cargo:OUTBOUND"},
                    "cargo:movementTimestamp": format!("{}T00:00:00", date.format("%Y-%m-%d")),
                }],
            }),
        );
    }
    if let Some(pieces) = body.pieces {
        object.insert("cargo:recordedPieceCount".into(), json!(pieces));
    }
    if let Some(weight) = body.weight_kg {
        object.insert(
            "cargo:recordedWeight".into(),
            json!({"@type": "cargo:Value", "cargo:numericalValue": weight, "cargo:unit": {"@id": "https://onerecord.iata.org/ns/code-lists/MeasurementUnitCode#KGM", "cargo:code": "KGM"}}),
        );
    }
    Some(value)
}

/// An event id as one IRI path segment.
pub fn slug(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
