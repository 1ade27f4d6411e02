//! The Kafka runner of `kouan alert`: status records in, alerts out, timers on the wall clock.
//!
//! On start it reads `kouan.alerts` to adopt the alerts still FIRING (so a restart neither loses
//! nor repeats one), replays `kouan.status` into the baselines and the watched shipments without
//! raising anything, then evaluates everything once at the current time and goes live: every new
//! record is evaluated as it comes, and every shipment still under way is re-evaluated each
//! `tick`, so a shipment that goes silent still alerts. One instance runs per cluster.

use crate::alerter::Alerter;
use crate::rules::Rules;
use kouan_bus::{follower, BusError, Follower, Publisher, Topics};
use kouan_model::{Alert, PublishedStatus, Status};
use prost::Message as _;
use rdkafka::Message;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub brokers: String,
    pub topics: Topics,
    pub rules: Rules,
    /// How often every open dwell and overdue milestone is re-checked.
    pub tick: Duration,
}

#[derive(Debug, Default)]
pub struct AlertStats {
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
    status_reader.catch_up(cancel, |message| {
        if let Some(status) = decode_status(message) {
            stats.records.fetch_add(1, Ordering::Relaxed);
            alerter.remember(&status);
        }
    })?;
    tracing::info!(
        adopted = alerter.firing().count(),
        records = stats.records.load(Ordering::Relaxed),
        "replay done, alerting"
    );

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
    let updates = alerter.tick(now_millis());
    publish(updates, &alerter)?;
    let mut last_tick = Instant::now();
    while !cancel.is_cancelled() {
        let mut updates = Vec::new();
        if let Some(message) = status_reader.poll(follower::POLL) {
            if let Some(status) = decode_status(&message) {
                stats.records.fetch_add(1, Ordering::Relaxed);
                updates.extend(alerter.observe(&status, now_millis()));
            }
        }
        if last_tick.elapsed() >= config.tick {
            updates.extend(alerter.tick(now_millis()));
            last_tick = Instant::now();
        }
        publish(updates, &alerter)?;
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
