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

/// Applies one event as a runner does: derives the shipments it affects, tells retention of
/// each, and sweeps; returns how many shipments were forgotten.
fn feed(engine: &mut Engine, retention: &mut Retention, event: Event) -> usize {
    let mut affected = BTreeSet::new();
    engine.apply(event, &mut affected);
    for id in affected {
        if let Some(status) = engine.refresh(&id) {
            retention.note(&id, &status);
        }
    }
    retention.sweep(engine)
}

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

/// A train none of the hub's containers was loaded onto, and a flight no AWB names, are not kept
/// for ever: once all their events are older than the retention horizon the trim lets go of them;
/// a flight an AWB names stays while the shipment is remembered.
#[test]
fn conveyances_nothing_reaches_go_once_older_than_the_horizon() {
    let mut engine = Engine::new();
    let mut retention = Retention::new(Duration::from_secs(10 * 24 * 3600));
    let awb = ids::make_awb(784, 7);
    let train = |id: &str, kind, hour| Event {
        location: None,
        body: Body::Transport(TransportBody {
            kind,
            mode: TransportMode::Rail,
            reference: "X9001".into(),
        }),
        ..air(id, AirStatus::Rcs, hour, "unused")
    };
    for event in [
        train("t1", TransportEventType::Departed, 0),
        train("t2", TransportEventType::Arrived, 60),
        flight_event("f1", TransportEventType::Departed, 2, "CA1047"),
        flight_event("g1", TransportEventType::Departed, 3, "CA9999"),
        on_flight(air("a1", AirStatus::Dep, 2, &awb), "CA1047"),
    ] {
        feed(&mut engine, &mut retention, event);
    }
    assert_eq!(engine.events_held(), 5);
    // nine days on: nothing is older than the horizon yet
    feed(
        &mut engine,
        &mut retention,
        air("b1", AirStatus::Rcs, 9 * 24, &awb),
    );
    assert!(retention.trim_due(engine.watermark_millis()));
    assert!(retention.trim(&mut engine).is_empty());
    // twenty days on: the train and the unnamed flight go, the AWB's flight stays
    feed(
        &mut engine,
        &mut retention,
        air("b2", AirStatus::Foh, 20 * 24, &awb),
    );
    assert!(retention.trim_due(engine.watermark_millis()));
    let mut dropped: Vec<String> = (retention.trim(&mut engine).iter())
        .map(|event| event.event_id.to_string())
        .collect();
    dropped.sort();
    assert_eq!(dropped, ["g1", "t1", "t2"]);
    assert_eq!(engine.events_held(), 4);
    assert!(engine.status(&awb).is_some());
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
    engine.link(&gone, &[], &[flight.to_string(), lonely.to_string()], None);
    assert!(
        engine.forget(&gone).is_empty(),
        "nothing judged while deferred"
    );
    engine.link(&live, &[], &[flight.to_string()], None);
    let dropped: Vec<String> = engine
        .settle_unreachable()
        .iter()
        .map(|event| event.event_id.to_string())
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

/// A container in constant use over 300 days, one China–Europe trip every five days (booking,
/// laden gate-in, load onto that trip's train, departure, arrival, discharge, laden gate-out at
/// the destination — the delivery — and an empty return), with a retracted duplicate gate-in on
/// each trip. Each shipment is forgotten 10 days after its delivery, but the container is always
/// linked to a remembered one: without trimming its history it would grow for ever. Streamed by
/// one engine, and by two that split the shipments by partition and tell each other their links
/// as the shared table would: each holds a bounded history, and every remembered shipment's
/// record equals the reference over the whole stream.
#[test]
fn a_container_in_constant_use_keeps_only_its_recent_history() {
    use kouan_bus::partitioner::partition_of;
    use kouan_processor::engine::Owner;
    use kouan_processor::reference::direct_subject;
    const UNIT: &str = "CSQU3054383";
    let place = |code: &str| {
        Some(std::sync::Arc::new(Location {
            unlocode: code.into(),
            facility: None,
            name: None,
        }))
    };
    let event = |id: String, hour: i64, code: Option<&str>, body: Body| Event {
        event_id: id.into(),
        source: "zz-rail".into(),
        event_time: at(hour),
        recorded_time: None,
        classifier: None,
        location: code.and_then(place),
        retracted: false,
        body,
    };
    let equipment = |kind, empty, train: Option<&str>| {
        Body::Equipment(EquipmentBody {
            kind,
            equipment_reference: UNIT.into(),
            empty_indicator: empty,
            shipment_ids: vec![],
            transport: train.map(|reference| TransportRef {
                mode: TransportMode::Rail,
                reference: reference.into(),
            }),
        })
    };
    let train = |kind, reference: &str| {
        Body::Transport(TransportBody {
            kind,
            mode: TransportMode::Rail,
            reference: reference.into(),
        })
    };
    let mut events = Vec::new();
    let trips = 60;
    for trip in 0..trips {
        let h = trip * 120;
        let shipment = format!("ZZHH26{trip:08}");
        let reference = format!("X8001-{trip:03}");
        let id = |what: &str| format!("{what}-{trip}");
        use EquipmentEventType::*;
        events.push(event(
            id("booked"),
            h,
            None,
            Body::from(ShipmentBody {
                kind: ShipmentEventType::Booked,
                shipment_id: shipment.clone(),
                document_type: Some(DocumentType::RailWaybill),
                shipper: Some("henan-elec".into()),
                mode: Some(ShipmentMode::Rail),
                direction: Some(Direction::Export),
                origin: Some("CNZZP".into()),
                destination: Some("DEHAM".into()),
                port_of_entry: None,
                units: vec![UNIT.into()],
                pieces: None,
                weight_kg: None,
                hs_code: None,
            }),
        ));
        events.push(event(
            id("gtin"),
            h + 2,
            Some("CNZZP"),
            equipment(Gtin, EmptyIndicator::Laden, None),
        ));
        let mut twin = event(
            id("twin"),
            h + 3,
            Some("CNZZP"),
            equipment(Gtin, EmptyIndicator::Laden, None),
        );
        events.push(twin.clone());
        twin.retracted = true;
        twin.recorded_time = Some(at(h + 4));
        events.push(twin);
        events.push(event(
            id("load"),
            h + 4,
            Some("CNZZP"),
            equipment(Load, EmptyIndicator::Laden, Some(&reference)),
        ));
        events.push(event(
            id("dep"),
            h + 5,
            Some("CNZZP"),
            train(TransportEventType::Departed, &reference),
        ));
        events.push(event(
            id("arr"),
            h + 60,
            Some("DEHAM"),
            train(TransportEventType::Arrived, &reference),
        ));
        events.push(event(
            id("disc"),
            h + 61,
            Some("DEHAM"),
            equipment(Disc, EmptyIndicator::Laden, Some(&reference)),
        ));
        events.push(event(
            id("gtot"),
            h + 62,
            Some("DEHAM"),
            equipment(Gtot, EmptyIndicator::Laden, None),
        ));
        events.push(event(
            id("empty"),
            h + 110,
            Some("CNZZP"),
            equipment(Gtin, EmptyIndicator::Empty, None),
        ));
    }
    let expected = kouan_processor::reference(&events);
    for owners in [1, 2] {
        let mut engines: Vec<(Engine, Retention)> = (0..owners)
            .map(|owner| {
                let mut engine = Engine::new();
                if owners > 1 {
                    engine.set_owner(Some(Owner {
                        partitions: owners,
                        owned: BTreeSet::from([owner]),
                    }));
                }
                (engine, Retention::new(Duration::from_secs(10 * 24 * 3600)))
            })
            .collect();
        let mut dropped = 0;
        let mut most = 0;
        for trip in events.chunks(10) {
            let mut announced = Vec::new();
            let mut forgotten = Vec::new();
            for (owner, (engine, retention)) in engines.iter_mut().enumerate() {
                let mut affected = BTreeSet::new();
                for event in trip {
                    let mine = direct_subject(event)
                        .is_none_or(|id| partition_of(id.as_bytes(), owners) == owner as i32);
                    if mine {
                        engine.apply(event.clone(), &mut affected);
                    }
                }
                affected.retain(|id| engine.owns(id));
                for id in affected {
                    if let Some(status) = engine.refresh(&id) {
                        retention.note(&id, &status);
                    }
                    announced.push((
                        owner,
                        id.clone(),
                        engine.links_of(&id),
                        engine.since_of(&id),
                    ));
                }
                retention.sweep_with(
                    engine,
                    |_| true,
                    |id, _| forgotten.push((owner, id.to_string())),
                );
                if retention.trim_due(engine.watermark_millis()) {
                    dropped += retention.trim(engine).len();
                }
                engine.spill_unneeded();
            }
            for (from, id, (units, flights), since) in announced {
                for (owner, (engine, _)) in engines.iter_mut().enumerate() {
                    if owner != from {
                        engine.link(&id, &units, &flights, since);
                    }
                }
            }
            // the `forgotten` links record every instance applies
            for (from, id) in forgotten {
                for (owner, (engine, _)) in engines.iter_mut().enumerate() {
                    if owner != from {
                        engine.forget(&id);
                    }
                }
            }
            for (engine, _) in &engines {
                most = most.max(engine.events_held() + engine.events_spilled());
            }
        }
        assert!(dropped > 0, "{owners} owners: nothing trimmed");
        // at any time, the trips of the last ~15 days (10 of retention after a delivery, plus
        // the trip open): some 2–4 trips of ten events, not the 600 of all of them
        assert!(
            most <= 50,
            "{owners} owners: up to {most} events held or spilled of {}",
            events.len()
        );
        let mut checked = 0;
        for (engine, _) in &mut engines {
            let remembered: Vec<String> = (0..trips)
                .map(|trip| format!("ZZHH26{trip:08}"))
                .filter(|id| !engine.is_forgotten(id) && engine.owns(id))
                .collect();
            checked += remembered.len();
            for id in remembered {
                assert_eq!(
                    engine.refresh(&id).as_ref(),
                    Some(&expected[&id]),
                    "{owners} owners: {id} differs from the reference"
                );
            }
        }
        assert!(
            checked >= 2,
            "{owners} owners: {checked} shipments remembered"
        );
    }
}
