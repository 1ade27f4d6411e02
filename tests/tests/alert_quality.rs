//! Alert quality against the simulator's ground truth (seed 21, 300 shipments a day, messy
//! delivery, 220,000 events ≈ 61 simulated days): live-paced, and the same history published at
//! once through the pure pipeline, and through Kafka (`kouan process` and `kouan alert` on the
//! real broker), each of which must give the live-paced precision and recall within 0.03.

use kouan_alerter::state::{alert_of, parse_key, Key, PositionRecord};
use kouan_alerter::Alert;
use kouan_bus::Topics;
use kouan_e2e::quality::{run, scenario, score, Pace, HOUR};
use kouan_e2e::*;
use kouan_emitter::simulator::Simulator;
use kouan_model::pb;
use prost::Message;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const LINES: usize = 220_000;
const TICK: i64 = 10 * 60_000;

#[test]
fn precision_and_recall_against_the_ground_truth() {
    let live = run(scenario(None), LINES, TICK, Pace::Live);
    let live = score("live-paced", &live.updates, &live.truth, live.end);
    assert!(live.precision >= 0.90, "precision {:.3}", live.precision);
    assert!(live.recall >= 0.95, "recall {:.3}", live.recall);
}

/// The history published at once gives the alerts live pacing gives: the clock is the
/// pipeline's event time and each record's whole history is judged.
#[test]
fn history_published_at_once_alerts_as_live() {
    let live = run(scenario(None), LINES, TICK, Pace::Live);
    let live = score("live-paced", &live.updates, &live.truth, live.end);
    let at_once = run(scenario(None), LINES, TICK, Pace::AtOnce);
    let at_once = score("at once", &at_once.updates, &at_once.truth, at_once.end);
    assert!(
        (at_once.precision - live.precision).abs() <= 0.03
            && (at_once.recall - live.recall).abs() <= 0.03,
        "at once {at_once:?}; live {live:?}"
    );
}

/// The same history published to Kafka before any service starts (a start on old topics, as after
/// an outage or on a first `kouan up`), then replayed by `kouan process` and `kouan alert`: the
/// alerts on `kouan.alerts` are scored beside the live-paced run of the pure pipeline. The
/// history is placed to end three hours before now, so that once the pipeline is caught up the
/// wall clock it falls back to is the time the history reached.
#[test]
fn history_replayed_through_kafka_alerts_as_live() {
    let probe = scenario(None);
    let span = Simulator::new(probe.clone())
        .take(LINES)
        .last()
        .unwrap()
        .at_unix_millis
        - probe.start_unix_millis;
    let start = wall_millis() - 3 * HOUR - span;
    let live = run(scenario(Some(start)), LINES, TICK, Pace::Live);
    let live_quality = score("live-paced", &live.updates, &live.truth, live.end);

    let namespace = unique_namespace("replay");
    let topics = Topics::new(&namespace);
    let output = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<String> = Simulator::new(scenario(Some(start)))
        .take(LINES)
        .map(|delivered| delivered.line)
        .collect();
    ingest_lines(&namespace, &lines);

    // the processor's own retention would forget shipments finished 30 days before the end of
    // this 61-day history and ignore their later corrections, which the reference applies
    let _processor = Service::start(
        &namespace,
        &["process", "--brokers", &brokers(), "--retention", "365days"],
    );
    let _alerter = Service::start(&namespace, &["alert", "--brokers", &brokers()]);
    let events: Vec<kouan_model::Event> = lines
        .iter()
        .filter_map(|line| kouan_model::ndjson::decode_line(line.as_bytes()).ok())
        .collect();
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events),
        Duration::from_secs(600),
    );
    await_alerter_read_everything(&topics);
    let updates: Vec<Alert> = read_topic(
        &brokers(),
        &topics.alerts(),
        0,
        Duration::ZERO,
        Duration::from_secs(60),
    )
    .into_iter()
    .map(|record| alert_of(pb::Alert::decode(record.payload.as_slice()).unwrap()).unwrap())
    .collect();
    let replayed = score("replayed through kafka", &updates, &live.truth, live.end);
    assert!(
        (replayed.precision - live_quality.precision).abs() <= 0.03
            && (replayed.recall - live_quality.recall).abs() <= 0.03,
        "replayed {replayed:?}; live {live_quality:?}"
    );
}

/// Waits until the alerter's committed positions (written in the transactions that carry its
/// alerts) are past the last record of every partition of `kouan.status`.
fn await_alerter_read_everything(topics: &Topics) {
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    for record in read_topic(
        &brokers(),
        &topics.status(),
        0,
        Duration::ZERO,
        Duration::from_secs(60),
    ) {
        let end = ends.entry(record.partition).or_default();
        *end = (*end).max(record.offset + 1);
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
        for record in read_topic(
            &brokers(),
            &topics.alerter(),
            0,
            Duration::ZERO,
            Duration::from_secs(60),
        ) {
            let key = record.key.as_deref().map(String::from_utf8_lossy);
            if let Some(Key::Position(partition)) = key.as_deref().and_then(parse_key) {
                let position = PositionRecord::decode(record.payload.as_slice()).unwrap();
                positions.insert(partition, position.next_offset);
            }
        }
        if ends
            .iter()
            .all(|(partition, end)| positions.get(partition).is_some_and(|at| at >= end))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the alerter is at {positions:?}, the status topic ends at {ends:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
