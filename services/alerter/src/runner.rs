//! The Kafka runner of `kouan alert`: status records in, alerts out, timers on the wall clock.
//!
//! On start it reads `kouan.alerts` to adopt the alerts still FIRING (so a restart neither loses
//! nor repeats one), replays `kouan.status` into the baselines and the watched shipments without
//! raising anything, then evaluates everything once at the current time and goes live: every new
//! record is evaluated as it comes, and every shipment still under way is re-evaluated each
//! `tick`, so a shipment that goes silent still alerts. One instance runs per cluster.

use crate::alerter::Alerter;
use crate::rules::Rules;
use crate::wire;
use kouan_bus::{reader, BusError, Publisher, Topics};
use kouan_model::pb;
use kouan_processor::Status;
use prost::Message as _;
use rdkafka::Message;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

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
) -> Result<(), AlertError> {
    let instance = format!("kouan-alert-{}", std::process::id());
    let publisher = Publisher::new(&config.brokers)?;
    let alerts_topic = config.topics.alerts();
    let mut alerter = Alerter::new(config.rules.clone());

    // alerts still FIRING on the topic: the latest record of each alert id
    let alerts_reader = reader::from_beginning(
        &config.brokers,
        &format!("{instance}-alerts"),
        std::slice::from_ref(&alerts_topic),
    )?;
    let mut latest: BTreeMap<String, pb::Alert> = BTreeMap::new();
    reader::drain_to_end(&alerts_reader, cancel, |message| {
        if let Some(record) = message.payload().and_then(|p| pb::Alert::decode(p).ok()) {
            latest.insert(record.alert_id.clone(), record);
        }
    })?;
    drop(alerts_reader);
    for record in latest.into_values() {
        if let Some(alert) = wire::from_proto(record) {
            alerter.adopt(alert);
        }
    }

    let status_reader = reader::from_beginning(
        &config.brokers,
        &format!("{instance}-status"),
        &[config.topics.status()],
    )?;
    reader::drain_to_end(&status_reader, cancel, |message| {
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

    let publish = |alerts: Vec<crate::Alert>, alerter: &Alerter| -> Result<(), AlertError> {
        for alert in alerts {
            let record = wire::to_proto(&alert).encode_to_vec();
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
        match status_reader.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                if let Some(status) = decode_status(&message) {
                    stats.records.fetch_add(1, Ordering::Relaxed);
                    updates.extend(alerter.observe(&status, now_millis()));
                }
            }
            Some(Err(error)) if reader::is_end_of_partition(&error) => {}
            // librdkafka reconnects by itself; a broker away for a while is not our end
            Some(Err(error)) => tracing::warn!(%error, "reading the status topic"),
            None => {}
        }
        if last_tick.elapsed() >= config.tick {
            updates.extend(alerter.tick(now_millis()));
            last_tick = Instant::now();
        }
        publish(updates, &alerter)?;
    }
    publisher.flush(Duration::from_secs(30))?;
    Ok(())
}

fn decode_status(message: &impl Message) -> Option<Status> {
    let payload = message.payload()?;
    let record = pb::ShipmentStatus::decode(payload).ok()?;
    match Status::from_proto(record) {
        Ok((status, _)) => Some(status),
        Err(reject) => {
            tracing::warn!(%reject, "unreadable status record");
            None
        }
    }
}
