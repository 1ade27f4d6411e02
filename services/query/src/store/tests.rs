//! The store's change log and indexes, without Kafka.

use super::*;
use crate::auth::{Caller, Role};
use crate::record::TopicId;
use kouan_model::{Status, Timestamp, TransportStage};
use prost::Message;

fn record(id: &str, shipper: &str, stage: TransportStage, version: u64) -> Vec<u8> {
    let status = Status {
        shipper: Some(shipper.into()),
        transport_stage: stage,
        ..Status::empty(id)
    };
    let at = Timestamp::from_parts(1_790_000_000, 0, 0).unwrap();
    status.to_proto(version, &at).encode_to_vec()
}

fn operator() -> Caller {
    Caller {
        name: "op".into(),
        role: Role::Operator,
    }
}

/// 3 partitions, 12 shipments, 5 versions each, applied in an interleaved order.
fn filled(window: usize) -> (Store, Vec<(String, u64)>) {
    let store = Store::new(window);
    let mut next = [0i64; 3];
    let mut applied = Vec::new();
    for version in 1..=5u64 {
        for i in 0..12 {
            let partition = i % 3;
            let origin = Origin {
                topic: TopicId::Status,
                partition: partition as i32,
                offset: next[partition],
            };
            next[partition] += 1;
            let id = format!("S{i:02}");
            let shipper = if i % 2 == 0 { "A" } else { "B" };
            store
                .apply_status(
                    None,
                    Some(&record(&id, shipper, TransportStage::Booked, version)),
                    origin,
                )
                .unwrap();
            applied.push((id, version));
        }
    }
    (store, applied)
}

fn drain(store: &Store, cursor: Cursor) -> Vec<Item> {
    drain_as(store, cursor, &operator())
}

fn drain_as(store: &Store, mut cursor: Cursor, caller: &Caller) -> Vec<Item> {
    let mut items = Vec::new();
    loop {
        let batch = store.next_batch(&mut cursor, 7, caller);
        items.extend(batch.items);
        if batch.at_end {
            return items;
        }
    }
}

fn shipper(name: &str) -> Caller {
    Caller {
        name: name.to_lowercase().into(),
        role: Role::Shipper(name.into()),
    }
}

fn shipper_of(item: &Item) -> &str {
    item.kind.shipper().unwrap_or_default()
}

fn key(item: &Item) -> (String, u64) {
    match &item.kind {
        ChangeKind::Status(record) => (record.shipment_id.to_string(), record.version),
        _ => panic!("only status changes here"),
    }
}

#[test]
fn resuming_from_any_token_gives_exactly_the_rest() {
    let (store, applied) = filled(1_000);
    let everything = drain(&store, store.cursor(Some(Position::default())));
    assert_eq!(everything.iter().map(key).collect::<Vec<_>>(), applied);
    for (at, item) in everything.iter().enumerate() {
        let rest = drain(&store, store.cursor(Position::decode(&item.token)));
        assert_eq!(
            rest.iter().map(key).collect::<Vec<_>>(),
            applied[at + 1..].to_vec(),
            "after item {at}"
        );
    }
    assert!(drain(&store, store.cursor(None)).is_empty(), "live end");
}

#[test]
fn a_reader_behind_a_short_log_gets_the_latest_of_what_it_missed_once() {
    let (store, applied) = filled(10);
    let items = drain(&store, store.cursor(Some(Position::default())));
    let keys: Vec<(String, u64)> = items.iter().map(key).collect();
    let distinct: BTreeSet<&(String, u64)> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "nothing twice: {keys:?}");
    // every shipment's latest version arrives, and the last 10 changes exactly
    for i in 0..12 {
        assert!(keys.contains(&(format!("S{i:02}"), 5)), "S{i:02}: {keys:?}");
    }
    assert_eq!(keys[keys.len() - 10..], applied[applied.len() - 10..]);
    // and every token of the catch-up resumes exactly after itself
    for (at, item) in items.iter().enumerate() {
        let rest: Vec<(String, u64)> = drain(&store, store.cursor(Position::decode(&item.token)))
            .iter()
            .map(key)
            .collect();
        assert_eq!(rest, keys[at + 1..].to_vec(), "after item {at}");
    }
}

/// A shipper's feed hands back only its own changes, each token resuming exactly after it, in the
/// log and in a catch-up; one who may see nothing gets nothing, in bounded looks, and ends at the
/// live end.
#[test]
fn a_shipper_reads_only_its_own_and_its_tokens_resume_exactly() {
    for window in [10, 1_000] {
        let (store, _) = filled(window);
        let everything = drain(&store, store.cursor(Some(Position::default())));
        let expected: Vec<(String, u64)> = everything
            .iter()
            .filter(|item| shipper_of(item) == "A")
            .map(key)
            .collect();
        let a = shipper("A");
        let own = drain_as(&store, store.cursor(Some(Position::default())), &a);
        assert_eq!(own.iter().map(key).collect::<Vec<_>>(), expected);
        for (at, item) in own.iter().enumerate() {
            let rest = drain_as(&store, store.cursor(Position::decode(&item.token)), &a);
            assert_eq!(
                rest.iter().map(key).collect::<Vec<_>>(),
                expected[at + 1..].to_vec(),
                "window {window}, after item {at}"
            );
        }
        let nobody = shipper("Z");
        let mut cursor = store.cursor(Some(Position::default()));
        let mut looks = 0;
        loop {
            let batch = store.next_batch(&mut cursor, 7, &nobody);
            assert!(batch.items.is_empty(), "{:?}", batch.items);
            looks += 1;
            if batch.at_end {
                break;
            }
        }
        assert_eq!(looks, window.min(60).div_ceil(7).max(1), "window {window}");
        assert!(drain(&store, cursor).is_empty(), "at the live end");
    }
}

#[test]
fn lists_page_through_indexes_with_visibility() {
    let store = Store::new(100);
    for i in 0..30 {
        let shipper = if i % 3 == 0 { "A" } else { "B" };
        let stage = if i % 2 == 0 {
            TransportStage::Arrived
        } else {
            TransportStage::Booked
        };
        let origin = Origin {
            topic: TopicId::Status,
            partition: 0,
            offset: i,
        };
        store
            .apply_status(
                None,
                Some(&record(&format!("S{i:02}"), shipper, stage, 1)),
                origin,
            )
            .unwrap();
    }
    let shipper_a = Caller {
        name: "a".into(),
        role: Role::Shipper("A".into()),
    };
    let mut query = ListQuery {
        transport_stage: Some("ARRIVED".into()),
        limit: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let (items, more) = store.list(&shipper_a, &query);
        seen.extend(items.iter().map(|r| r.shipment_id.to_string()));
        if !more {
            break;
        }
        query.after = items.last().map(|r| r.shipment_id.to_string());
    }
    assert_eq!(seen, ["S00", "S06", "S12", "S18", "S24"]);
    let all = ListQuery {
        limit: 1000,
        ..Default::default()
    };
    assert_eq!(store.list(&operator(), &all).0.len(), 30);
    let other = ListQuery {
        shipper: Some("B".into()),
        limit: 1000,
        ..Default::default()
    };
    assert!(store.list(&shipper_a, &other).0.is_empty());
    // a tombstone removes the shipment from every index
    let origin = Origin {
        topic: TopicId::Status,
        partition: 0,
        offset: 30,
    };
    store.apply_status(Some(b"S00"), None, origin).unwrap();
    assert!(store.get("S00").is_none());
    assert_eq!(
        store
            .list(
                &shipper_a,
                &ListQuery {
                    limit: 1000,
                    ..Default::default()
                }
            )
            .0
            .len(),
        9
    );
    // a record that does not decode changes nothing
    let origin = Origin {
        topic: TopicId::Status,
        partition: 0,
        offset: 31,
    };
    assert!(store.apply_status(None, Some(b"\xff\xff"), origin).is_err());
    assert_eq!(store.counts().shipments, 29);
}

/// A restored store answers as the one its checkpoint was taken from, and a rendered answer is
/// never served for a newer record.
#[test]
fn a_restored_store_answers_the_same_and_answers_follow_new_versions() {
    let (store, _) = filled(1_000);
    let (position, statuses, alerts) = store.checkpoint_rows();
    let checkpoint = crate::checkpoint::Checkpoint {
        position: position.clone(),
        statuses: statuses
            .iter()
            .map(|r| (r.origin, r.wire().to_vec()))
            .collect(),
        alerts: alerts.iter().map(|a| (a.origin, a.wire())).collect(),
        ..Default::default()
    };
    let restored = Store::new(1_000);
    assert_eq!(restored.restore(checkpoint), 0);
    assert_eq!(restored.position(), position);
    for i in 0..12 {
        let id = format!("S{i:02}");
        let (a, b) = (store.get(&id).unwrap(), restored.get(&id).unwrap());
        assert_eq!(store.answer(&a), restored.answer(&b));
    }
    // the log starts at the checkpoint: a reader from the very start catches up once per
    // shipment, a reader at the checkpoint's position gets nothing
    assert_eq!(
        drain(&restored, restored.cursor(Some(Position::default()))).len(),
        12
    );
    assert!(drain(&restored, restored.cursor(Some(position.clone()))).is_empty());

    let answer = |store: &Store| -> serde_json::Value {
        serde_json::from_str(&store.answer(&store.get("S00").unwrap())).unwrap()
    };
    assert_eq!(answer(&restored)["version"], 5);
    let origin = Origin {
        topic: TopicId::Status,
        partition: 0,
        offset: 1_000,
    };
    let newer = record("S00", "A", TransportStage::Delivered, 6);
    restored.apply_status(None, Some(&newer), origin).unwrap();
    assert_eq!(answer(&restored)["version"], 6);
    assert_eq!(answer(&restored)["transportStage"], "DELIVERED");
}

/// Reads of `versions` versions of 300 shipments over 3 partitions, with one undecodable record
/// and one tombstone among them.
fn reads(versions: u64) -> Vec<Read> {
    let mut next = [0i64; 3];
    let mut reads = Vec::new();
    for version in 1..=versions {
        for i in 0..300 {
            let partition = i % 3;
            let origin = Origin {
                topic: TopicId::Status,
                partition: partition as i32,
                offset: next[partition],
            };
            next[partition] += 1;
            let id = format!("S{i:03}");
            let payload = match (version, i) {
                (2, 7) => Some(b"\xff\xff".to_vec()),
                (3, 8) => None,
                _ => Some(record(&id, "A", TransportStage::Booked, version)),
            };
            reads.push(Read {
                origin,
                key: Some(id.into_bytes().into()),
                payload: payload.map(Into::into),
                watermark: None,
            });
        }
    }
    reads
}

#[test]
fn the_intake_applies_batches_in_order_while_it_decodes_the_next() {
    // one record at a time: the order of the log and the store's end state to compare with
    let one_by_one = Store::new(10_000);
    let mut rejected_one_by_one = Vec::new();
    for read in reads(4) {
        let origin = read.origin;
        if let Err(error) =
            one_by_one.apply_status(read.key.as_deref(), read.payload.as_deref(), origin)
        {
            rejected_one_by_one.push((origin, error.to_string()));
        }
    }
    // full batches held back and decoded beside the application of the one before
    let batched = Store::new(10_000);
    let mut intake = Intake::default();
    let mut rejected = Vec::new();
    let all = reads(4);
    let batches: Vec<Vec<Read>> = {
        let mut all = all.into_iter().peekable();
        let mut batches = Vec::new();
        while all.peek().is_some() {
            batches.push(all.by_ref().take(256).collect());
        }
        batches
    };
    let count = batches.len();
    for (n, batch) in batches.into_iter().enumerate() {
        let more_follow = n + 1 < count;
        rejected.extend(intake.take(&batched, batch, more_follow));
        if !more_follow {
            // the last (not full) batch is applied at once: nothing is left held back
            assert_eq!(batched.position(), one_by_one.position());
        }
    }
    assert!(intake.flush(&batched).is_empty());
    let rejected: Vec<_> = rejected
        .into_iter()
        .map(|(origin, error)| (origin, error.to_string()))
        .collect();
    assert_eq!(rejected, rejected_one_by_one);
    assert_eq!(rejected.len(), 1);
    let changes = |store: &Store| {
        drain(store, store.cursor(Some(Position::default())))
            .into_iter()
            .map(|item| (item.token.clone(), item.kind.shipment_id().to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(changes(&batched), changes(&one_by_one));
    // S008, removed by its tombstone, is back with its fourth version
    assert_eq!(batched.counts().shipments, 300);
    for i in [0, 7, 8, 299] {
        let id = format!("S{i:03}");
        assert_eq!(
            batched.get(&id).map(|r| r.version),
            one_by_one.get(&id).map(|r| r.version)
        );
    }
}
