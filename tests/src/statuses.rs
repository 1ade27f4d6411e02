//! The statuses a run published, against the reference derivation of the same events.

use crate::*;
use std::time::{Duration, Instant};

/// What a compacted topic holds: the last record per key (tombstones remove the key).
pub fn latest_statuses(
    brokers: &str,
    topic: &str,
) -> std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus> {
    status_history(brokers, topic)
        .into_iter()
        .filter_map(|(key, mut records)| records.pop().flatten().map(|record| (key, record)))
        .collect()
}

/// Every record of a compacted status topic that is still there, per key in publication order
/// (`None` for a tombstone).
pub fn status_history(
    brokers: &str,
    topic: &str,
) -> std::collections::BTreeMap<String, Vec<Option<kouan_model::pb::ShipmentStatus>>> {
    use prost::Message as _;
    let mut records = read_topic(
        brokers,
        topic,
        0,
        Duration::from_millis(500),
        Duration::from_secs(60),
    );
    records.sort_by_key(|record| (record.partition, record.offset));
    let mut history = std::collections::BTreeMap::<String, Vec<_>>::new();
    for record in records {
        let key = String::from_utf8(record.key.clone().expect("status records are keyed")).unwrap();
        let value = (!record.payload.is_empty())
            .then(|| kouan_model::pb::ShipmentStatus::decode(record.payload.as_slice()).unwrap());
        history.entry(key).or_default().push(value);
    }
    history
}

/// Nothing stale was ever published: per shipment, versions strictly increase in the order the
/// topic holds them (a zombie's or a restarted instance's repeat would repeat or lower one).
pub fn assert_versions_increase(brokers: &str, topic: &str) {
    for (id, records) in status_history(brokers, topic) {
        let versions: Vec<u64> = records.iter().flatten().map(|r| r.version).collect();
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "versions of {id} do not increase: {versions:?}"
        );
    }
}

/// The reference records of `events`, as `kouan.status` should hold them (version and
/// updatedAt zeroed on both sides before comparing).
pub fn expected_statuses(
    events: &[kouan_model::Event],
) -> std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus> {
    let zero = kouan_model::Timestamp::from_parts(0, 0, 0).unwrap();
    kouan_processor::reference(events)
        .into_iter()
        .map(|(id, status)| (id, status.to_proto(0, &zero)))
        .collect()
}

fn zeroed(mut record: kouan_model::pb::ShipmentStatus) -> kouan_model::pb::ShipmentStatus {
    record.version = 0;
    record.updated_at = Some(kouan_model::protobuf::time_to_proto(
        &kouan_model::Timestamp::from_parts(0, 0, 0).unwrap(),
    ));
    record
}

/// Waits until the status topic holds exactly `expected`; on the deadline, fails showing the
/// first difference field by field.
pub fn await_statuses(
    brokers: &str,
    topic: &str,
    expected: &std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus>,
    deadline: Duration,
) -> std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus> {
    let started = Instant::now();
    loop {
        let actual = latest_statuses(brokers, topic);
        let zeroed_actual: std::collections::BTreeMap<_, _> = actual
            .clone()
            .into_iter()
            .map(|(id, record)| (id, zeroed(record)))
            .collect();
        if &zeroed_actual == expected {
            return actual;
        }
        if started.elapsed() > deadline {
            let missing: Vec<_> = expected
                .keys()
                .filter(|id| !zeroed_actual.contains_key(*id))
                .take(5)
                .collect();
            let extra: Vec<_> = zeroed_actual
                .keys()
                .filter(|id| !expected.contains_key(*id))
                .take(5)
                .collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{} expected, {} on the topic; missing {missing:?}, extra {extra:?}",
                expected.len(),
                zeroed_actual.len()
            );
            for (id, record) in expected {
                assert_eq!(
                    record, &zeroed_actual[id],
                    "status of {id} differs from the reference"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
