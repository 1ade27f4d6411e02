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
        location: Some(Location {
            unlocode: "CNCGO".into(),
            facility: None,
            name: None,
        }),
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
    // eleven days after: forgotten, with its events
    assert_eq!(
        feed(
            &mut engine,
            &mut retention,
            air("b3", AirStatus::Foh, 30 + 11 * 24, &open)
        ),
        1
    );
    assert!(engine.status(&delivered).is_none());
    assert_eq!(engine.events_held(), held + 1 - 2);
    assert!(!engine.shipments().any(|id| *id == delivered));
    // a late event naming it is ignored; the open shipment is untouched
    let mut affected = BTreeSet::new();
    engine.apply(air("a3", AirStatus::Nfd, 31, &delivered), &mut affected);
    assert!(affected.is_empty());
    assert!(engine.status(&delivered).is_none());
    assert_eq!(engine.status(&open).unwrap().milestones.len(), 3);
}
