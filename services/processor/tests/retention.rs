//! The retention rule: a delivered shipment is forgotten once the event-time watermark is past
//! its delivery plus the retention period; its later events are ignored; others are untouched.

mod common;

use common::*;
use kouan_model::*;
use kouan_processor::retention::Retention;
use kouan_processor::Engine;
use std::collections::BTreeSet;
use std::time::Duration;

#[test]
fn delivered_shipments_are_forgotten_after_the_retention_period() {
    let delivered = ids::make_awb(784, 1);
    let open = ids::make_awb(784, 2);
    let mut engine = Engine::new();
    let mut retention = Retention::new(Duration::from_secs(10 * 24 * 3600));
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
    // derived delivered, its own events went to the park; the retraction stays in memory
    assert_eq!(engine.shipments_parked(), 1);
    let held = engine.events_held();
    // eleven days after: forgotten, with its parked events and the retraction
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("b3", AirStatus::Foh, 30 + 11 * 24, &open)
        ),
        1
    );
    assert!(engine.status(&delivered).is_none());
    assert_eq!(engine.events_held(), held + 1 - 1);
    assert_eq!(engine.shipments_parked(), 0);
    assert!(!engine.shipments().any(|id| *id == delivered));
    // a late event naming it is ignored; the open shipment is untouched
    let mut affected = BTreeSet::new();
    engine.apply(air("a3", AirStatus::Nfd, 31, &delivered), &mut affected);
    assert!(affected.is_empty());
    assert!(engine.status(&delivered).is_none());
    assert_eq!(engine.status(&open).unwrap().milestones.len(), 3);
}

/// A delivery corrected later (the first `DLV` retracted, another a week later) moves the
/// finish: the shipment is forgotten by the new one, not the first. Deriving a finished shipment
/// again (an event after its delivery) does not schedule it a second time; a shipment whose
/// events are all retracted is not forgotten by the finish derived before.
#[test]
fn the_latest_finish_decides_and_a_finished_shipment_is_scheduled_once() {
    let (corrected, later, voided) = (
        ids::make_awb(784, 1),
        ids::make_awb(784, 2),
        ids::make_awb(784, 3),
    );
    let other = ids::make_awb(784, 9);
    let mut engine = Engine::new();
    let mut retention = Retention::new(Duration::from_secs(10 * 24 * 3600));
    // (shipments forgotten, entries scheduled) after the event
    let feed = |engine: &mut Engine, retention: &mut Retention, event: Event| {
        let forgotten = feed(engine, retention, event);
        (forgotten, retention.entries().count())
    };
    let (e, r) = (&mut engine, &mut retention);
    feed(e, r, air("c1", AirStatus::Rcs, 0, &corrected));
    feed(e, r, air("c2", AirStatus::Dlv, 10, &corrected));
    feed(e, r, air("l1", AirStatus::Rcs, 0, &later));
    feed(e, r, air("l2", AirStatus::Dlv, 10, &later));
    feed(e, r, air("v1", AirStatus::Dlv, 10, &voided));
    // events after a delivery derive it again at the same finish: still three entries
    assert_eq!(feed(e, r, air("l3", AirStatus::Nfd, 12, &later)), (0, 3));
    assert_eq!(feed(e, r, air("l4", AirStatus::Nfd, 13, &later)), (0, 3));
    // the first delivery retracted and another a week later
    let retract = |event: Event, hour: i64| Event {
        retracted: true,
        recorded_time: Some(at(hour)),
        ..event
    };
    feed(e, r, retract(air("c2", AirStatus::Dlv, 10, &corrected), 20));
    feed(e, r, air("c3", AirStatus::Dlv, 10 + 7 * 24, &corrected));
    // the voided shipment's only event retracted: nothing left of it
    feed(e, r, retract(air("v1", AirStatus::Dlv, 10, &voided), 21));
    assert!(e.status(&voided).is_none());
    // eleven days after the first deliveries: the uncorrected one goes; the corrected one
    // stays, and so does the voided one, which is not finished
    let (forgotten, _) = feed(e, r, air("o1", AirStatus::Rcs, 10 + 11 * 24, &other));
    assert_eq!(forgotten, 1);
    assert!(e.is_forgotten(&later));
    assert!(!e.is_forgotten(&corrected));
    assert!(!e.is_forgotten(&voided));
    assert!(e.status(&corrected).is_some());
    // eleven days after the corrected delivery: it goes too, and nothing is scheduled
    let (forgotten, scheduled) = feed(e, r, air("o2", AirStatus::Foh, 10 + 18 * 24, &other));
    assert_eq!((forgotten, scheduled), (1, 0));
    assert!(e.is_forgotten(&corrected));
    assert!(!e.is_forgotten(&voided));
}
