//! The Kafka runner of `kouan process`: a thin shell around [`Engine`].
//!
//! **Design.** Events are keyed by flight, train, container or declaration, and a departure
//! fans out through containers to shipments, so every instance reads *every* event partition
//! (as a Kafka Streams GlobalKTable would) and keeps the whole link state. The work that scales
//! with shipments — deriving records and publishing them — is split: shipments hash into
//! [`BUCKETS`] buckets, and the live members of the group (see [`crate::membership`]) divide the
//! buckets between them. An instance publishes the records of the buckets it owns; when one
//! dies, the survivors take its buckets over within seconds.
//!
//! **Crash safety without offsets.** The record is a pure function of the events, so an instance
//! rebuilds its state by replaying the event topics from the beginning, and learns what is
//! already published by reading `kouan.status` (compacted) — its own and its peers' records, with
//! their versions. After the replay it publishes exactly the records that differ from what the
//! topic holds. A kill -9 at any moment therefore loses nothing (the events are in Kafka, and an
//! unacknowledged record shows up as a difference after the restart) and invents nothing (every
//! record is recomputed from the events). No transactions are needed.
//!
//! **Publishing.** A record is published when, and only when, its derived content changes; its
//! `version` is the previous published version plus one. An invalid record on an input topic is
//! sent to `kouan.deadletter` once, by the owner of its partition's bucket, with its origin
//! (`processor:<topic>/<partition>@<offset>`) so that a restart does not send it again.
//!
//! **Retention** ([`crate::retention`]): an owned shipment that finished more than `retention`
//! (event time) ago is forgotten.

use crate::engine::Engine;
use crate::membership::Membership;
use crate::retention::Retention;
use crate::status::{digest_of_record, fnv1a};
use kouan_bus::headers::{PUBLISHER, REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::{reader, BusError, Publisher, Topics};
use kouan_model::{pb, protobuf, Reject, Timestamp};
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::Message;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

#[derive(Debug, Clone)]
pub struct ProcessConfig {
    pub brokers: String,
    pub topics: Topics,
    /// Consumer group of the instances that share the work.
    pub group: String,
    /// Finished shipments are forgotten this long (event time) after they finish.
    pub retention: Duration,
    /// The replay at start-up is over once the event topics stay quiet this long.
    pub idle: Duration,
}

/// Counters for logs, metrics and the benchmark.
#[derive(Debug, Default)]
pub struct ProcessStats {
    pub events: AtomicU64,
    /// Valid events read, per body kind in `BodyKind::ALL` order (one topic each).
    pub events_by_kind: [AtomicU64; 5],
    /// From an event's publication (its Kafka timestamp) to the status records it changed
    /// being handed to the producer; observed per live event.
    pub latency: LatencyHistogram,
    pub rejected: AtomicU64,
    pub published: AtomicU64,
    pub forgotten: AtomicU64,
    /// Set once the start-up replay is over and records are being published live.
    pub live: AtomicBool,
    /// Event records on the topics not read yet (all partitions), refreshed every 5 s.
    pub lag: std::sync::atomic::AtomicI64,
}

fn now_unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A fixed-bucket histogram of seconds that threads update without a lock.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    counts: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_micros: AtomicU64,
}

/// Upper bounds (seconds) of the latency buckets; the last bucket is everything above.
pub const LATENCY_BOUNDS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

impl LatencyHistogram {
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// (sum of seconds, count, cumulative (bound, count) per finite bucket).
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BOUNDS.len() + 1);
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = LATENCY_BOUNDS.get(index).copied().unwrap_or(f64::INFINITY);
            buckets.push((bound, cumulative));
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        (sum, cumulative, buckets)
    }
}

/// The internal topic of the members' heartbeats (one partition).
pub fn members_topic(topics: &Topics) -> String {
    topics.internal("members")
}

/// How long a bucket must have been ours before we dead-letter its invalid records: a few
/// heartbeats, so a peer that owned it has learned of us and our reader has its dead letters.
const DEAD_LETTER_SETTLE: Duration = Duration::from_secs(3);

/// Ownership buckets: more than instances will ever run, so the split stays even.
pub const BUCKETS: i32 = 12;

pub fn bucket_of(shipment_id: &str, buckets: i32) -> i32 {
    (fnv1a(shipment_id.as_bytes()) % buckets as u64) as i32
}

/// What is on `kouan.status` for one shipment.
#[derive(Debug, Clone, Copy)]
struct Published {
    version: u64,
    /// `None` after a tombstone.
    digest: Option<u64>,
}

/// An invalid input record waiting for its bucket's owner.
struct Invalid {
    origin: String,
    partition: i32,
    payload: Vec<u8>,
    reason: String,
}

pub fn run(
    config: &ProcessConfig,
    stats: &ProcessStats,
    cancel: &CancellationToken,
) -> Result<(), ProcessError> {
    let instance = format!("{}-{}", config.group, std::process::id());
    let publisher = Publisher::new(&config.brokers)?;
    let status_topic = config.topics.status();
    let deadletter_topic = config.topics.deadletter();

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut membership = Membership::join(
        &config.brokers,
        &members_topic(&config.topics),
        &config.group,
        format!("{instance}-{nanos:09}"),
    )?;

    // what is already published, and which invalid records were already dead-lettered
    let status_reader = reader::from_beginning(
        &config.brokers,
        &format!("{instance}-status"),
        std::slice::from_ref(&status_topic),
    )?;
    let mut published: HashMap<String, Published> = HashMap::new();
    let deadletter_reader = reader::from_beginning(
        &config.brokers,
        &format!("{instance}-deadletter"),
        std::slice::from_ref(&deadletter_topic),
    )?;
    let mut dead_lettered: HashSet<String> = HashSet::new();
    reader::drain_until_idle(&status_reader, config.idle, cancel, |message| {
        learn_published(&mut published, message)
    });
    reader::drain_until_idle(&deadletter_reader, config.idle, cancel, |message| {
        if let Some(origin) = header(message, REJECT_ORIGIN) {
            dead_lettered.insert(origin);
        }
    });

    let event_topics: Vec<String> = kouan_model::BodyKind::ALL
        .iter()
        .map(|kind| config.topics.events(*kind))
        .collect();
    let events_reader = reader::from_beginning(
        &config.brokers,
        &format!("{instance}-events"),
        &event_topics,
    )?;
    let targets = watermarks(&events_reader, &event_topics)?;
    let mut positions: HashMap<(String, i32), i64> = HashMap::new();

    let mut engine = Engine::new();
    let mut affected: BTreeSet<String> = BTreeSet::new();
    let mut pending_invalid: Vec<Invalid> = Vec::new();
    let mut retention = Retention::new(config.retention);
    let mut owned: BTreeSet<i32> = BTreeSet::new();
    let mut live = false;
    let mut last_event = Instant::now();
    let mut last_log = Instant::now();
    let mut batch_published_at: Vec<i64> = Vec::new();
    let mut owned_since: HashMap<i32, Instant> = HashMap::new();
    let mut lag_at = Instant::now();

    while !cancel.is_cancelled() {
        // a batch of events
        let mut batch = 0;
        while batch < 10_000 {
            let Some(result) =
                events_reader.poll(Duration::from_millis(if batch == 0 { 20 } else { 0 }))
            else {
                break;
            };
            let message = result?;
            batch += 1;
            last_event = Instant::now();
            positions.insert(
                (message.topic().to_string(), message.partition()),
                message.offset() + 1,
            );
            let payload = message.payload().unwrap_or_default();
            if live {
                if let Some(millis) = message.timestamp().to_millis() {
                    batch_published_at.push(millis);
                }
            }
            match protobuf::decode_event(payload) {
                Ok(event) => {
                    stats.events.fetch_add(1, Ordering::Relaxed);
                    let kind = event.kind();
                    if let Some(index) = kouan_model::BodyKind::ALL.iter().position(|k| *k == kind)
                    {
                        stats.events_by_kind[index].fetch_add(1, Ordering::Relaxed);
                    }
                    engine.apply(event, &mut affected);
                }
                Err(reject) => {
                    stats.rejected.fetch_add(1, Ordering::Relaxed);
                    pending_invalid.push(invalid(&message, &reject));
                }
            }
        }

        let now_owned = membership.tick(&publisher, BUCKETS)?;
        while let Some(Ok(message)) = status_reader.poll(Duration::ZERO) {
            // our own records are known already; decoding them again would double the work
            if header(&message, PUBLISHER).as_deref() != Some(membership.me()) {
                learn_published(&mut published, &message);
            }
        }
        // peers dead-letter too: learn what they sent, so that a takeover does not send it again
        while let Some(Ok(message)) = deadletter_reader.poll(Duration::ZERO) {
            if let Some(origin) = header(&message, REJECT_ORIGIN) {
                dead_lettered.insert(origin);
            }
        }

        if !live {
            let caught_up = targets
                .iter()
                .all(|(key, target)| positions.get(key).copied().unwrap_or(0) >= *target);
            if !(caught_up || last_event.elapsed() >= config.idle) {
                continue;
            }
            live = true;
            stats.live.store(true, Ordering::Relaxed);
            // everything owned is recomputed once, below, as newly gained
            affected.clear();
            tracing::info!(events = engine.events_held(), "replay done, publishing");
        }
        if now_owned != owned {
            let gained: BTreeSet<i32> = now_owned.difference(&owned).copied().collect();
            affected.extend(
                engine
                    .shipments()
                    .filter(|id| gained.contains(&bucket_of(id, BUCKETS)))
                    .cloned(),
            );
            for bucket in &gained {
                owned_since.insert(*bucket, Instant::now());
            }
            owned = now_owned;
            tracing::info!(owned = ?owned, members = membership.members(), "ownership changed");
        }

        // invalid records of owned partitions, once each: only once the bucket has been ours
        // for a while, so that its previous owner has seen us and stopped, and we have read
        // what it dead-lettered before
        pending_invalid.retain(|record| {
            let bucket = record.partition % BUCKETS;
            let settled = owned_since
                .get(&bucket)
                .is_some_and(|since| since.elapsed() >= DEAD_LETTER_SETTLE);
            if !owned.contains(&bucket) || !settled {
                return true;
            }
            if dead_lettered.insert(record.origin.clone()) {
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: REJECT_REASON,
                        value: Some(&record.reason),
                    })
                    .insert(Header {
                        key: REJECT_ORIGIN,
                        value: Some(&record.origin),
                    });
                if let Err(error) =
                    publisher.send(&deadletter_topic, None, &record.payload, Some(headers))
                {
                    tracing::error!(%error, origin = record.origin, "dead-lettering failed");
                    return true;
                }
            }
            false
        });

        // publish the records that changed
        let now = now();
        for shipment_id in std::mem::take(&mut affected) {
            if !owned.contains(&bucket_of(&shipment_id, BUCKETS)) {
                continue;
            }
            let status = engine.refresh(&shipment_id);
            let previous = published.get(&shipment_id).copied();
            match status {
                Some(status) => {
                    let version = previous.map_or(1, |p| p.version + 1);
                    let (mut record, digest) = status.record(version, &now);
                    if previous.and_then(|p| p.digest) == Some(digest) {
                        continue;
                    }
                    if previous.is_none() {
                        record.version = 1;
                    }
                    let headers = OwnedHeaders::new().insert(Header {
                        key: PUBLISHER,
                        value: Some(membership.me()),
                    });
                    publisher.send(
                        &status_topic,
                        Some(shipment_id.as_bytes()),
                        &record.encode_to_vec(),
                        Some(headers),
                    )?;
                    stats.published.fetch_add(1, Ordering::Relaxed);
                    retention.note(&shipment_id, &status);
                    published.insert(
                        shipment_id,
                        Published {
                            version,
                            digest: Some(digest),
                        },
                    );
                }
                None => {
                    if let Some(p) = previous.filter(|p| p.digest.is_some()) {
                        publisher.send_tombstone(&status_topic, shipment_id.as_bytes())?;
                        stats.published.fetch_add(1, Ordering::Relaxed);
                        published.insert(
                            shipment_id,
                            Published {
                                version: p.version + 1,
                                digest: None,
                            },
                        );
                    }
                }
            }
        }

        if !batch_published_at.is_empty() {
            let done = now_unix_millis();
            for published_at in batch_published_at.drain(..) {
                stats.latency.observe((done - published_at) as f64 / 1000.0);
            }
        }

        if lag_at.elapsed() >= Duration::from_secs(5) {
            lag_at = Instant::now();
            let mut lag = 0;
            for (topic, partition) in targets.keys() {
                if let Ok((_, high)) =
                    events_reader.fetch_watermarks(topic, *partition, Duration::from_secs(2))
                {
                    let read = positions
                        .get(&(topic.clone(), *partition))
                        .copied()
                        .unwrap_or(0);
                    lag += (high - read).max(0);
                }
            }
            stats.lag.store(lag, Ordering::Relaxed);
        }

        let forgotten = retention.sweep(&mut engine);
        stats
            .forgotten
            .fetch_add(forgotten as u64, Ordering::Relaxed);

        if last_log.elapsed() >= Duration::from_secs(10) {
            tracing::info!(
                events = stats.events.load(Ordering::Relaxed),
                published = stats.published.load(Ordering::Relaxed),
                rejected = stats.rejected.load(Ordering::Relaxed),
                held = engine.events_held(),
                owned = ?owned,
                "processing"
            );
            last_log = Instant::now();
        }
    }
    publisher.flush(Duration::from_secs(30))?;
    Ok(())
}

fn learn_published(published: &mut HashMap<String, Published>, message: &impl Message) {
    let Some(key) = message.key().and_then(|key| std::str::from_utf8(key).ok()) else {
        return;
    };
    let entry = match message.payload() {
        None => {
            let version = published.get(key).map_or(0, |p| p.version);
            Published {
                version,
                digest: None,
            }
        }
        Some(payload) => match pb::ShipmentStatus::decode(payload) {
            Ok(record) => Published {
                version: record.version,
                digest: Some(digest_of_record(record)),
            },
            Err(error) => {
                tracing::warn!(%error, key, "undecodable status record");
                return;
            }
        },
    };
    match published.get(key) {
        Some(current) if current.version > entry.version => {}
        _ => {
            published.insert(key.to_string(), entry);
        }
    }
}

fn invalid(message: &impl Message, reject: &Reject) -> Invalid {
    Invalid {
        origin: format!(
            "processor:{}/{}@{}",
            message.topic(),
            message.partition(),
            message.offset()
        ),
        partition: message.partition(),
        payload: message.payload().unwrap_or_default().to_vec(),
        reason: reject.to_string(),
    }
}

fn header(message: &impl Message, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(since_epoch.as_secs() as i64, since_epoch.subsec_nanos(), 0)
        .expect("now is in range")
}

/// High watermarks at start-up: where the replay may consider itself caught up (tansu's run
/// low, so quiet input also ends the replay).
fn watermarks(
    consumer: &BaseConsumer,
    topics: &[String],
) -> Result<HashMap<(String, i32), i64>, ProcessError> {
    let mut targets = HashMap::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let partitions = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len());
        for partition in 0..partitions as i32 {
            let (_, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10))?;
            targets.insert((topic.clone(), partition), high);
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_histogram_counts_cumulatively() {
        let histogram = LatencyHistogram::default();
        for seconds in [0.001, 0.004, 0.3, 0.3, 7.0, 120.0] {
            histogram.observe(seconds);
        }
        let (sum, count, buckets) = histogram.snapshot();
        assert_eq!(count, 6);
        assert!((sum - 127.605).abs() < 1e-3, "{sum}");
        let at = |bound: f64| buckets.iter().find(|(b, _)| *b == bound).unwrap().1;
        assert_eq!(at(0.005), 2);
        assert_eq!(at(0.25), 2);
        assert_eq!(at(0.5), 4);
        assert_eq!(at(10.0), 5);
        assert_eq!(at(60.0), 5);
        assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 6));
    }
}
