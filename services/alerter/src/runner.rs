//! The Kafka runner of `kouan alert`: status records in, alerts out, on the pipeline's
//! event-time clock ([`kouan_bus::event_clock`], from the watermark the processor stamps on each
//! status record).
//!
//! State: the alerter's state lives in the compacted changelog `kouan.internal.alerter`
//! ([`crate::state`]): shipments under watch, baselines, and the `kouan.status` offsets they
//! reflect, written in one transaction with the alerts of each cycle. A restart reads the changelog
//! (proportional to the shipments under way) and goes on from those offsets; the status topic is
//! read from the beginning only on a first start, after taking over what `kouan.alerts` holds.
//! Each record is judged at its partition's clock as it comes, and every shipment still under way
//! is re-judged on a timer, so a shipment that goes silent still alerts. One instance runs per
//! cluster: the transactional id is the namespace's, so a second instance fences the first, which
//! stops.

use crate::alerter::Alerter;
use crate::rules::Rules;
use crate::state;
use kouan_bus::{follower, headers, reader, BusError, EventClock, Follower, Publisher, Topics};
use kouan_model::{Alert, PublishedStatus, Status};
use prost::Message as _;
use rdkafka::Message;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often every shipment under way is judged again, in event time, while history is read
/// faster than it happened (the schedule covers the rest; see [`Alerter::sweep`]).
pub const SWEEP_EVENT_MILLIS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub brokers: String,
    pub topics: Topics,
    pub rules: Rules,
    /// How often every shipment under way is judged again in full (the timer judges the ones due
    /// as they fall due).
    pub tick: Duration,
}

#[derive(Debug, Default)]
pub struct AlertStats {
    /// Status records read, tombstones and unreadable ones included.
    pub records: AtomicU64,
    pub published: AtomicU64,
    pub firing: AtomicU64,
}

/// Most status records read per cycle (one transaction).
const CYCLE_RECORDS: usize = 5_000;
/// Longest a cycle reads before it commits what it has.
const CYCLE: Duration = Duration::from_millis(250);

pub fn run(
    config: &AlertConfig,
    stats: &AlertStats,
    cancel: &CancellationToken,
) -> Result<(), BusError> {
    let instance = format!("kouan-alert-{}", std::process::id());
    // one id per cluster: a second instance fences the first (whose next commit fails, and it
    // stops), and whatever the first left open is ended before the state is read back
    let publisher = Publisher::transactional(
        &config.brokers,
        &format!("kouan-alert.{}", config.topics.namespace()),
    )?;
    let mut alerter = Alerter::new(config.rules.clone());
    let mut clock = EventClock::new();
    let restored = restore(config, &instance, &mut alerter, cancel)?;
    let mut marks = restored.marks;
    for (partition, mark) in &marks {
        clock.observe(*partition, *mark, kouan_model::wall_millis());
    }
    // A processor cycle's status records all carry the watermark of its end, and are read in
    // several polls: the timer must not judge, at that watermark, a shipment whose record of the
    // same cycle is not read yet. So a partition's clock takes a watermark once a record with a
    // later one arrives, or the partition is read to its end; until then it is pending, and only
    // the records carrying it are judged at it.
    let mut pending: BTreeMap<i32, i64> = BTreeMap::new();
    let mut positions = restored.positions;
    if positions.is_empty() {
        // a first start, or state left by a version without a changelog: what the alerts topic
        // holds is taken over and the statuses are read from the beginning
        adopt_alerts(config, &instance, &mut alerter, cancel)?;
    }
    tracing::info!(
        shipments = alerter.watched_len(),
        firing = alerter.firing().count(),
        positions = ?positions,
        seconds = restored.seconds,
        "alerter state restored"
    );

    let status_topic = config.topics.status();
    let mut status_reader = Follower::new(
        reader::from_offsets(
            &config.brokers,
            &format!("{instance}-status"),
            &status_topic,
            &positions,
        )?,
        cancel,
    )?;
    // The replay at start and live operation are one loop: every record is judged at its
    // partition's event-time clock, and so is the timer — so history read fast gives the alerts
    // it gave when it happened. Each cycle's alerts, changed state and positions are one
    // transaction.
    let mut replaying = true;
    let mut last_sweep = (Instant::now(), i64::MIN);
    let mut moved = false;
    while !cancel.is_cancelled() {
        let mut updates = Vec::new();
        let started = Instant::now();
        let mut read = 0;
        while read < CYCLE_RECORDS && started.elapsed() < CYCLE {
            let wall = kouan_model::wall_millis();
            let Some(message) = status_reader.poll(follower::POLL) else {
                break;
            };
            read += 1;
            let partition = message.partition();
            positions.insert(partition, message.offset() + 1);
            moved = true;
            let watermark = headers::watermark_of(&message);
            if let Some(watermark) = watermark.filter(|_| !marks.contains_key(&partition)) {
                // the partition's first stamp: no shipment of it is known but the ones its
                // records bring, each as of its own stamp, so it is the clock at once
                clock.observe(partition, watermark, wall);
                marks.insert(partition, watermark);
            }
            if let Some(watermark) = watermark {
                let earlier = pending
                    .get(&partition)
                    .copied()
                    .filter(|&earlier| earlier < watermark);
                if let Some(earlier) = earlier {
                    clock.observe(partition, earlier, wall);
                    marks.insert(partition, earlier);
                }
                if earlier.is_some() || !pending.contains_key(&partition) {
                    pending.insert(partition, watermark);
                }
            }
            stats.records.fetch_add(1, Ordering::Relaxed);
            // the record's own shipment is as of its watermark
            let now = clock
                .now_in(partition, wall)
                .max(watermark.map_or(i64::MIN, |watermark| watermark.min(wall)));
            match (message.payload(), message.key()) {
                (None, Some(key)) => {
                    if let Ok(shipment_id) = std::str::from_utf8(key) {
                        updates.extend(alerter.shipment_deleted(shipment_id, now));
                    }
                }
                _ => {
                    if let Some(status) = decode_status(&message) {
                        updates.extend(alerter.observe_in(&status, partition, now));
                    }
                }
            }
        }
        let wall = kouan_model::wall_millis();
        for partition in status_reader.take_ended() {
            if let Some(watermark) = pending.remove(&partition) {
                clock.observe(partition, watermark, wall);
                marks.insert(partition, watermark);
            }
            clock.reached_end(partition);
        }
        // the timer: shipments due now (cheap: a look at the schedule's head), and a sweep of
        // every shipment under way every `tick` of wall time or SWEEP_EVENT_MILLIS of event time
        updates.extend(alerter.tick_by(|partition| clock.now_in(partition, wall)));
        let furthest = clock.now(wall);
        if last_sweep.0.elapsed() >= config.tick
            || furthest.saturating_sub(last_sweep.1) >= SWEEP_EVENT_MILLIS
        {
            updates.extend(alerter.sweep(|partition| clock.now_in(partition, wall)));
            last_sweep = (Instant::now(), furthest);
        }
        let (shipments, baselines) = alerter.take_dirty();
        let judged = started.elapsed();
        if !updates.is_empty() || !shipments.is_empty() || !baselines.is_empty() || moved {
            publisher.begin()?;
            let written = write_cycle(
                config,
                &publisher,
                &alerter,
                &updates,
                (&shipments, &baselines),
                (&positions, &marks),
            );
            match written {
                Ok(()) => publisher.commit_records()?,
                Err(error) => {
                    let _ = publisher.abort();
                    return Err(error);
                }
            }
            moved = false;
            report(stats, &alerter, &updates);
            tracing::debug!(
                read,
                judged_ms = judged.as_millis() as u64,
                committed_ms = (started.elapsed() - judged).as_millis() as u64,
                shipments = shipments.len(),
                "alerter cycle"
            );
        }
        if replaying && status_reader.caught_up() {
            replaying = false;
            tracing::info!(
                firing = alerter.firing().count(),
                records = stats.records.load(Ordering::Relaxed),
                behind_hours = clock.behind_millis(wall) / 3_600_000,
                "replay done, alerting"
            );
        }
    }
    Ok(())
}

/// What the changelog gave back.
struct Restored {
    positions: BTreeMap<i32, i64>,
    marks: BTreeMap<i32, i64>,
    seconds: f64,
}

/// Reads `kouan.internal.alerter` to its end into `alerter`: shipments under watch, baselines,
/// and where in `kouan.status` they were taken. Proportional to the shipments under way, not to
/// history. A record this version cannot read is skipped with a warning (its shipment is judged
/// afresh from its next status record).
fn restore(
    config: &AlertConfig,
    instance: &str,
    alerter: &mut Alerter,
    cancel: &CancellationToken,
) -> Result<Restored, BusError> {
    let started = Instant::now();
    let topic = config.topics.alerter();
    let mut shipments: HashMap<String, state::ShipmentRecord> = HashMap::new();
    let mut baselines: HashMap<String, state::BaselineRecord> = HashMap::new();
    let mut positions = BTreeMap::new();
    let mut marks = BTreeMap::new();
    let mut reader = Follower::from_beginning(
        &config.brokers,
        &format!("{instance}-restore"),
        std::slice::from_ref(&topic),
        cancel,
    )?;
    reader.catch_up(cancel, |message| {
        let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) else {
            return;
        };
        let payload = message.payload();
        let decoded = match (state::parse_key(key), payload) {
            (Some(state::Key::Shipment(id)), None) => {
                shipments.remove(id);
                Ok(())
            }
            (Some(state::Key::Shipment(id)), Some(bytes)) => state::ShipmentRecord::decode(bytes)
                .map(|record| {
                    shipments.insert(id.to_string(), record);
                }),
            (Some(state::Key::Baseline), Some(bytes)) => state::BaselineRecord::decode(bytes)
                .map(|record| {
                    baselines.insert(key.to_string(), record);
                }),
            (Some(state::Key::Position(partition)), Some(bytes)) => {
                state::PositionRecord::decode(bytes).map(|record| {
                    positions.insert(partition, record.next_offset);
                    if record.watermark > 0 {
                        marks.insert(partition, record.watermark);
                    }
                })
            }
            _ => Ok(()),
        };
        if let Err(error) = decoded {
            tracing::warn!(%error, key, offset = message.offset(), "skipping an alerter state record");
        }
    })?;
    for record in baselines.into_values() {
        alerter.restore_baseline(record);
    }
    for (id, record) in shipments {
        if let Err(error) = alerter.restore_shipment(&id, record) {
            tracing::warn!(%error, shipment_id = id, "skipping an alerter state record");
        }
    }
    // what was restored is what the changelog holds: nothing to write back
    let _ = alerter.take_dirty();
    Ok(Restored {
        positions,
        marks,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Takes over what `kouan.alerts` holds (the latest record of each alert id): FIRING alerts are
/// updated or resolved, not raised again; RESOLVED ones are episodes over.
fn adopt_alerts(
    config: &AlertConfig,
    instance: &str,
    alerter: &mut Alerter,
    cancel: &CancellationToken,
) -> Result<(), BusError> {
    let mut alerts_reader = Follower::from_beginning(
        &config.brokers,
        &format!("{instance}-alerts"),
        &[config.topics.alerts()],
        cancel,
    )?;
    let mut latest: BTreeMap<String, Alert> = BTreeMap::new();
    alerts_reader.catch_up(cancel, |message| match message.payload() {
        Some(payload) => match Alert::decode(payload) {
            Ok(alert) => {
                latest.insert(alert.alert_id.clone(), alert);
            }
            Err(reject) => tracing::warn!(
                offset = message.offset(),
                field = %reject.field,
                reason = %reject.reason,
                "skipping an alert record this version cannot read"
            ),
        },
        // a tombstone: compaction's way of forgetting an alert
        None => {
            if let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) {
                latest.remove(key);
            }
        }
    })?;
    for alert in latest.into_values() {
        alerter.adopt(alert);
    }
    Ok(())
}

/// One cycle's records: the alerts, the changed state (tombstones for shipments let go of) and
/// the positions they reflect.
fn write_cycle(
    config: &AlertConfig,
    publisher: &Publisher,
    alerter: &Alerter,
    alerts: &[Alert],
    (shipments, baselines): (&[String], &[crate::baseline::BaselineKey]),
    (positions, marks): (&BTreeMap<i32, i64>, &BTreeMap<i32, i64>),
) -> Result<(), BusError> {
    let alerts_topic = config.topics.alerts();
    for alert in alerts {
        let record = alert.to_proto().encode_to_vec();
        publisher.send(
            &alerts_topic,
            Some(alert.alert_id.as_bytes()),
            &record,
            None,
        )?;
    }
    let state_topic = config.topics.alerter();
    for id in shipments {
        let key = state::shipment_key(id);
        match alerter.shipment_record(id) {
            Some(record) => publisher.send(
                &state_topic,
                Some(key.as_bytes()),
                &record.encode_to_vec(),
                None,
            )?,
            None => publisher.send_tombstone(&state_topic, key.as_bytes())?,
        }
    }
    for key in baselines {
        let record = alerter.baseline_record(key).encode_to_vec();
        publisher.send(
            &state_topic,
            Some(state::baseline_key(key).as_bytes()),
            &record,
            None,
        )?;
    }
    for (partition, next_offset) in positions {
        let record = state::PositionRecord {
            next_offset: *next_offset,
            watermark: marks.get(partition).copied().unwrap_or(0),
        };
        let key = state::position_key(*partition);
        publisher.send(
            &state_topic,
            Some(key.as_bytes()),
            &record.encode_to_vec(),
            None,
        )?;
    }
    Ok(())
}

/// Counts and logs a committed cycle's alerts.
fn report(stats: &AlertStats, alerter: &Alerter, alerts: &[Alert]) {
    for alert in alerts {
        stats.published.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            alert = alert.alert_id,
            state = alert.state.code(),
            observed_hours = alert.observed_hours,
            "alert"
        );
    }
    stats
        .firing
        .store(alerter.firing().count() as u64, Ordering::Relaxed);
}

fn decode_status(message: &impl Message) -> Option<Status> {
    match PublishedStatus::decode(message.payload()?) {
        Ok(published) => Some(published.status),
        Err(reject) => {
            tracing::warn!(
                offset = message.offset(),
                field = %reject.field,
                reason = %reject.reason,
                "skipping a status record this version cannot read"
            );
            None
        }
    }
}
