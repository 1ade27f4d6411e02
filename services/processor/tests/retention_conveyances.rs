//! Retention of what no shipment holds: conveyances nothing reaches, restores that must read
//! every link before judging, containers in constant use.

mod common;

use common::*;
use kouan_model::*;
use kouan_processor::retention::Retention;
use kouan_processor::Engine;
use std::collections::BTreeSet;
use std::time::Duration;

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
        engine.forget(&gone, None).is_empty(),
        "nothing judged while deferred"
    );
    engine.link(&live, &[], &[flight.to_string()], None);
    let dropped: Vec<String> = engine
        .drop_unreachable()
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
                    |id, _, _| forgotten.push((owner, id.to_string())),
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
                        engine.forget(&id, None);
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
