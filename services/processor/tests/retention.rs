//! The retention rule: a delivered shipment is forgotten once the event-time watermark is past
//! its delivery plus the retention period; its later events are ignored; others are untouched.

use kouan_model::*;
use kouan_processor::retention::Retention;
use kouan_processor::Engine;
use std::collections::BTreeSet;
use std::time::Duration;

fn at(hour: i64) -> Timestamp {
    Timestamp::from_parts(1_763_568_000 + hour * 3600, 0, 8 * 3600).unwrap()
}

fn air(id: &str, status: AirStatus, hour: i64, awb: &str) -> Event {
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

#[test]
fn delivered_shipments_are_forgotten_after_the_retention_period() {
    let delivered = ids::make_awb(784, 1);
    let open = ids::make_awb(784, 2);
    let mut engine = Engine::new();
    let mut retention = Retention::new(Duration::from_secs(10 * 24 * 3600));
    let feed = |engine: &mut Engine, retention: &mut Retention, event: Event| {
        let mut affected = BTreeSet::new();
        engine.apply(event, &mut affected);
        for id in affected {
            if let Some(status) = engine.refresh(&id) {
                retention.note(&id, &status);
            }
        }
        retention.sweep(engine)
    };
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("a1", AirStatus::Rcs, 0, &delivered)
        ),
        0
    );
    // an event of it retracted: the retraction is held (it must beat late copies of what it
    // voids) until the shipment is forgotten
    feed(
        &mut engine,
        &mut retention,
        air("a0", AirStatus::Man, 1, &delivered),
    );
    let retraction = Event {
        retracted: true,
        recorded_time: Some(at(2)),
        ..air("a0", AirStatus::Man, 1, &delivered)
    };
    feed(&mut engine, &mut retention, retraction);
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("a2", AirStatus::Dlv, 30, &delivered)
        ),
        0
    );
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("b1", AirStatus::Rcs, 40, &open)
        ),
        0
    );
    assert_eq!(
        engine.status(&delivered).unwrap().transport_stage,
        TransportStage::Delivered
    );
    // nine days after delivery: kept
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("b2", AirStatus::Foh, 30 + 9 * 24, &open)
        ),
        0
    );
    assert!(engine.status(&delivered).is_some());
    let held = engine.events_held();
    // eleven days after: forgotten, with its events and the retraction
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("b3", AirStatus::Foh, 30 + 11 * 24, &open)
        ),
        1
    );
    assert!(engine.status(&delivered).is_none());
    assert_eq!(engine.events_held(), held + 1 - 3);
    assert!(!engine.shipments().any(|id| *id == delivered));
    // a late event naming it is ignored; the open shipment is untouched
    let mut affected = BTreeSet::new();
    engine.apply(air("a3", AirStatus::Nfd, 31, &delivered), &mut affected);
    assert!(affected.is_empty());
    assert!(engine.status(&delivered).is_none());
    assert_eq!(engine.status(&open).unwrap().milestones.len(), 3);
}

fn on_flight(mut event: Event, flight: &str) -> Event {
    if let Body::Air(air) = &mut event.body {
        air.flight = Some(flight.into());
    }
    event
}

fn flight_event(id: &str, kind: TransportEventType, hour: i64, flight: &str) -> Event {
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

/// A restore reads the shared table's partitions one after another: the `forgotten` record of
/// one AWB on a flight can come before the links of another AWB on it. The flight's events must
/// stay for the live AWB (they were dropped for it, and a restore from the topics derived it
/// without its flight's departure and arrival); once every link is read, a flight nobody reaches
/// any more is let go.
#[test]
fn a_restore_judges_what_a_forgotten_shipment_leaves_once_every_link_is_read() {
    let (gone, live) = (ids::make_awb(784, 1), ids::make_awb(784, 2));
    let (flight, lonely) = ("LH6035-20251204", "CV3542-20251203");
    let flights = [
        flight_event("f1", TransportEventType::Departed, 10, flight),
        flight_event("f2", TransportEventType::Arrived, 20, flight),
        flight_event("f3", TransportEventType::Departed, 11, lonely),
    ];
    let live_events = [
        on_flight(air("a1", AirStatus::Man, 5, &live), flight),
        on_flight(air("a2", AirStatus::Dep, 10, &live), flight),
    ];
    let mut engine = Engine::new();
    let mut affected = BTreeSet::new();
    engine.defer_unreachable();
    for event in flights.iter().cloned() {
        engine.apply(event, &mut affected);
    }
    engine.link(&gone, &[], &[flight.to_string(), lonely.to_string()]);
    assert!(
        engine.forget(&gone).is_empty(),
        "nothing judged while deferred"
    );
    engine.link(&live, &[], &[flight.to_string()]);
    let dropped: Vec<String> = engine
        .settle_unreachable()
        .iter()
        .map(|event| event.event_id.clone())
        .collect();
    assert_eq!(
        dropped,
        vec!["f3".to_string()],
        "only the flight nobody reaches"
    );
    for event in live_events.iter().cloned() {
        engine.apply(event, &mut affected);
    }
    let all: Vec<Event> = flights[..2].iter().chain(&live_events).cloned().collect();
    let expected = kouan_processor::reference(&all)
        .remove(&live)
        .expect("a status");
    assert_eq!(engine.refresh(&live), Some(expected.clone()));
    assert!(expected.milestones.iter().any(|m| m.event_id == "f2"));
}
