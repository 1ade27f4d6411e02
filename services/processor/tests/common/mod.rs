//! What the retention tests share: times, air and flight events, and feeding an engine as a
//! runner does.

#![allow(dead_code)]

use kouan_model::*;
use kouan_processor::retention::Retention;
use kouan_processor::Engine;
use std::collections::BTreeSet;

pub fn at(hour: i64) -> Timestamp {
    Timestamp::from_parts(1_763_568_000 + hour * 3600, 0, 8 * 3600).unwrap()
}

pub fn air(id: &str, status: AirStatus, hour: i64, awb: &str) -> Event {
    Event {
        event_id: id.into(),
        source: "cgo-cargo".into(),
        event_time: at(hour),
        recorded_time: None,
        classifier: None,
        location: Some(std::sync::Arc::new(Location {
            unlocode: "CNCGO".into(),
            facility: None,
            name: None,
        })),
        retracted: false,
        body: Body::Air(AirBody {
            status,
            awb: awb.into(),
            flight: None,
            pieces: None,
            weight_kg: None,
        }),
    }
}

/// Applies one event as a runner does: derives the shipments it affects, tells retention of
/// each, and sweeps; returns how many shipments were forgotten.
pub fn feed(engine: &mut Engine, retention: &mut Retention, event: Event) -> usize {
    let mut affected = BTreeSet::new();
    engine.apply(event, &mut affected);
    for id in affected {
        if let Some(status) = engine.refresh(&id) {
            retention.note(&id, &status);
        }
    }
    retention.sweep(engine)
}

pub fn on_flight(mut event: Event, flight: &str) -> Event {
    if let Body::Air(air) = &mut event.body {
        air.flight = Some(flight.into());
    }
    event
}

pub fn flight_event(id: &str, kind: TransportEventType, hour: i64, flight: &str) -> Event {
    Event {
        event_id: id.into(),
        source: "cgo-flight-ops".into(),
        body: Body::Transport(TransportBody {
            kind,
            mode: TransportMode::Air,
            reference: flight.into(),
        }),
        ..air(id, AirStatus::Dep, hour, "unused")
    }
}
