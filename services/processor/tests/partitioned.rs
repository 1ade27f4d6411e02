//! The runner's split of the state, as plain data: owner *p* holds the direct events of the
//! shipments in partition *p* (by murmur2 of the shipment id), every owner reads the equipment
//! and transport events and the links the other owners announce, and spills the container
//! history its own shipments do not need after every batch. Each owner's records for its
//! shipments equal the reference — the split and the spill lose nothing the derivation needs —
//! whatever the delivery order, and the state per owner shrinks as owners are added.

use kouan_bus::partitioner::partition_of;
use kouan_model::Status;
use kouan_model::*;
use kouan_processor::engine::Owner;
use kouan_processor::reference::direct_subject;
use kouan_processor::{reference, Engine};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

fn simulated(seed: u64, lines: usize) -> Vec<Event> {
    kouan_emitter::simulator::sample(seed, 300.0, lines)
}

/// Streams `events` through `owners` partitioned engines in batches, announcing links between
/// batches as the shared table would; returns each owner's published records and its engine.
fn partitioned(
    events: &[Event],
    owners: i32,
    batch: usize,
) -> (BTreeMap<String, Status>, Vec<Engine>) {
    let mut engines: Vec<Engine> = (0..owners)
        .map(|owner| {
            let mut engine = Engine::new();
            engine.set_owner(Some(Owner {
                partitions: owners,
                owned: BTreeSet::from([owner]),
            }));
            engine
        })
        .collect();
    let mut published = BTreeMap::new();
    for chunk in events.chunks(batch) {
        let mut affected: Vec<BTreeSet<String>> = vec![BTreeSet::new(); owners as usize];
        for event in chunk {
            match direct_subject(event) {
                Some(subject) => {
                    let owner = partition_of(subject.as_bytes(), owners) as usize;
                    engines[owner].apply(event.clone(), &mut affected[owner]);
                }
                None => {
                    for (owner, engine) in engines.iter_mut().enumerate() {
                        engine.apply(event.clone(), &mut affected[owner]);
                    }
                }
            }
        }
        let mut announced = Vec::new();
        for (owner, engine) in engines.iter_mut().enumerate() {
            for id in std::mem::take(&mut affected[owner]) {
                if partition_of(id.as_bytes(), owners) as usize != owner {
                    continue;
                }
                match engine.refresh(&id) {
                    Some(status) => published.insert(id.clone(), status),
                    None => published.remove(&id),
                };
                announced.push((
                    owner,
                    id.clone(),
                    engine.links_of(&id),
                    engine.since_of(&id),
                ));
            }
        }
        for (from, id, (units, flights), since) in announced {
            for (owner, engine) in engines.iter_mut().enumerate() {
                if owner != from {
                    engine.link(&id, &units, &flights, since);
                }
            }
        }
        for engine in &mut engines {
            engine.spill_unneeded();
        }
    }
    (published, engines)
}

#[test]
fn owners_of_partitions_publish_exactly_the_reference() {
    for seed in [3, 4] {
        let mut events = simulated(seed, 8_000);
        let expected = reference(&events);
        assert!(expected.len() > 200, "{} shipments", expected.len());
        for owners in [1, 2, 4] {
            let (published, _) = partitioned(&events, owners, 101);
            assert_eq!(
                expected.keys().collect::<Vec<_>>(),
                published.keys().collect::<Vec<_>>(),
                "{owners} owners: shipments differ"
            );
            for (id, status) in &expected {
                assert_eq!(status, &published[id], "{owners} owners: {id} differs");
            }
        }
        // and in another order
        events.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let (published, _) = partitioned(&events, 4, 57);
        for (id, status) in &expected {
            assert_eq!(status, &published[id], "shuffled, 4 owners: {id} differs");
        }
    }
}

#[test]
fn state_per_owner_shrinks_as_owners_are_added() {
    let events = simulated(5, 8_000);
    let (_, one) = partitioned(&events, 1, 101);
    let (_, two) = partitioned(&events, 2, 101);
    let single = one[0].events_held();
    let largest = two.iter().map(Engine::events_held).max().unwrap();
    assert!(
        largest * 10 <= single * 6,
        "one owner holds {single} events, the larger of two {largest}"
    );
    assert!(two.iter().all(|engine| engine.events_spilled() > 0));
    eprintln!(
        "events held: one owner {single}, two owners {:?} ({:.0}% for the larger)",
        two.iter().map(Engine::events_held).collect::<Vec<_>>(),
        100.0 * largest as f64 / single as f64
    );
}

/// A rebalance: owner 0 of two is given partition 1 as well — its shipments' direct events
/// restored, their records derived again — and brings back from the spill the container history
/// they need: every record equals the reference.
#[test]
fn a_gained_partition_brings_back_the_container_history_it_needs() {
    let events = simulated(6, 8_000);
    let expected = reference(&events);
    let (_, mut engines) = partitioned(&events, 2, 101);
    let mut gaining = engines.swap_remove(0);
    let spilled = gaining.events_spilled();
    let mut affected = BTreeSet::new();
    for event in &events {
        if direct_subject(event).is_some_and(|id| partition_of(id.as_bytes(), 2) == 1) {
            gaining.apply(event.clone(), &mut affected);
        }
    }
    gaining.set_owner(Some(Owner {
        partitions: 2,
        owned: BTreeSet::from([0, 1]),
    }));
    for (id, status) in &expected {
        assert_eq!(Some(status), gaining.refresh(id).as_ref(), "{id} differs");
    }
    assert!(
        gaining.events_spilled() < spilled,
        "{spilled} spilled before, {} after",
        gaining.events_spilled()
    );
}

#[test]
fn an_event_dated_far_after_its_recording_does_not_move_the_watermark() {
    let event = |id: &str, hour: i64| {
        ndjson::decode_line(
            format!(
                r#"{{"eventId":"{id}","source":"zz-rail","eventTime":"2026-11-01T{hour:02}:00:00+08:00","transport":{{"type":"DEPARTED","mode":"RAIL","reference":"X8001-20261101"}}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    };
    let recorded = |hour: i64| {
        Timestamp::parse(&format!("2026-11-01T{hour:02}:00:00+08:00"))
            .unwrap()
            .unix_millis()
    };
    let mut engine = Engine::new();
    let mut affected = BTreeSet::new();
    engine.apply_recorded(event("a", 10), recorded(9), &mut affected);
    let watermark = engine.watermark_millis();
    assert_eq!(watermark, recorded(10));
    // dated 20 hours after its Kafka timestamp: within the tolerance, it counts
    engine.apply_recorded(event("b", 20), recorded(0), &mut affected);
    assert_eq!(engine.watermark_millis(), recorded(20));
    // dated 47 hours after it: a wrong clock; held, but the watermark stays
    let held = engine.events_held();
    engine.apply_recorded(event("c", 23), recorded(0) - 24 * 3_600_000, &mut affected);
    assert_eq!(engine.watermark_millis(), recorded(20));
    assert_eq!(engine.events_held(), held + 1);
}
