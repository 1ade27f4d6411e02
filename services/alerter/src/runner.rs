//! The Kafka runner of `kouan alert`: status records in, alerts out, on the pipeline's
//! event-time clock ([`kouan_bus::event_clock`], from the watermark the processor stamps on each
//! status record).
//!
//! On start it reads `kouan.alerts` and adopts what is there (FIRING alerts are updated or
//! resolved, not raised again; RESOLVED ones are episodes over), then reads `kouan.status` from
//! the beginning and on: each record is judged at its partition's clock as it comes, and every
//! shipment still under way is re-judged on a timer, so a shipment that goes silent still alerts.
//! A restart reads the compacted topics again (one record per shipment and per alert, not all
//! history). One instance runs per cluster.

use crate::alerter::Alerter;
use crate::rules::Rules;
use kouan_bus::{follower, headers, BusError, EventClock, Follower, Publisher, Topics};
use kouan_model::{Alert, PublishedStatus, Status};
use prost::Message as _;
use rdkafka::Message;
use std::collections::BTreeMap;
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

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn run(
    config: &AlertConfig,
    stats: &AlertStats,
    cancel: &CancellationToken,
) -> Result<(), BusError> {
    let instance = format!("kouan-alert-{}", std::process::id());
    let publisher = Publisher::new(&config.brokers)?;
    let alerts_topic = config.topics.alerts();
    let mut alerter = Alerter::new(config.rules.clone());

    // alerts still FIRING on the topic: the latest record of each alert id
    let mut alerts_reader = Follower::from_beginning(
        &config.brokers,
        &format!("{instance}-alerts"),
        std::slice::from_ref(&alerts_topic),
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
    drop(alerts_reader);
    for alert in latest.into_values() {
        alerter.adopt(alert);
    }

    let mut status_reader = Follower::from_beginning(
        &config.brokers,
        &format!("{instance}-status"),
        &[config.topics.status()],
        cancel,
    )?;
    let publish = |alerts: Vec<crate::Alert>, alerter: &Alerter| -> Result<(), BusError> {
        for alert in alerts {
            let record = alert.to_proto().encode_to_vec();
            publisher.send(
                &alerts_topic,
                Some(alert.alert_id.as_bytes()),
                &record,
                None,
            )?;
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
        Ok(())
    };
    // The replay at start and live operation are one loop: every record is judged at its
    // partition's event-time clock, and so is the timer — so history read fast gives the alerts
    // it gave when it happened.
    let mut clock = EventClock::new();
    let mut replaying = true;
    let mut last_sweep = (Instant::now(), i64::MIN);
    while !cancel.is_cancelled() {
        let mut updates = Vec::new();
        let wall = now_millis();
        if let Some(message) = status_reader.poll(follower::POLL) {
            if let Some(watermark) = headers::watermark_of(&message) {
                clock.observe(message.partition(), watermark, wall);
            }
            stats.records.fetch_add(1, Ordering::Relaxed);
            if let Some(status) = decode_status(&message) {
                let now = clock.now_in(message.partition(), wall);
                updates.extend(alerter.observe_in(&status, message.partition(), now));
            }
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
        publish(updates, &alerter)?;
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
    publisher.flush(kouan_bus::timing::FLUSH)?;
    Ok(())
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
