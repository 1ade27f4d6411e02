//! The first stage of `kouan process`: input events to the internal topics, stateless.
//!
//! A consumer group of its own (`<group>-router`) splits the five event topics between the
//! instances. Each record is validated: an invalid one goes to `kouan.deadletter` with its reason
//! and origin; a shipment, air or customs event to `kouan.internal.by-shipment`, in the partition
//! of the shipment it names; an equipment or transport event to `kouan.internal.shared`. Records
//! and input offsets commit in one transaction per cycle, so every input record is routed exactly
//! once — dead letters included — across kill -9, rebalances and zombies. A group of its own, not
//! the shipment stage's: librdkafka's assignors balance the total number of partitions, so in one
//! group an instance could own every by-shipment partition and another none.

use crate::changelog::event_key;
use crate::rebalance::{Change, Rebalances};
use crate::reference::direct_subject;
use crate::runner::{layout, Layout, ProcessConfig, ProcessError};
use crate::stats::ProcessStats;
use kouan_bus::headers::{REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::partitioner::partition_of;
use kouan_bus::{Placed, Publisher};
use kouan_model::protobuf;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::Message;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

/// Most records routed per transaction.
const CYCLE_RECORDS: usize = 20_000;
/// Longest a cycle waits for its first record.
use kouan_bus::timing::CYCLE_WAIT;

/// The router's consumer group for the processor group `group`.
pub fn router_group(group: &str) -> String {
    format!("{group}-router")
}

pub struct Router<'a> {
    stats: &'a ProcessStats,
    layout: Layout,
    producer: Publisher,
    consumer: BaseConsumer<Rebalances>,
    assigned: HashSet<(String, i32)>,
    by_shipment: String,
    shared: String,
    deadletter: String,
}

impl<'a> Router<'a> {
    pub fn start(
        config: &'a ProcessConfig,
        stats: &'a ProcessStats,
        name: &str,
    ) -> Result<Self, ProcessError> {
        let layout = layout(config)?;
        let producer = Publisher::transactional(&config.brokers, &format!("kouan-route-{name}"))?;
        let consumer: BaseConsumer<Rebalances> =
            kouan_bus::config::group_member(&config.brokers, &router_group(&config.group))
                .create_with_context(Rebalances::default())?;
        let topics: Vec<String> = kouan_model::BodyKind::ALL
            .iter()
            .map(|kind| config.topics.events(*kind))
            .collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        Ok(Router {
            stats,
            layout,
            producer,
            consumer,
            assigned: HashSet::new(),
            by_shipment: config.topics.by_shipment(),
            shared: config.topics.shared(),
            deadletter: config.topics.deadletter(),
        })
    }

    pub fn run(&mut self, cancel: &CancellationToken) -> Result<(), ProcessError> {
        while !cancel.is_cancelled() {
            let batch = kouan_bus::batch::poll_batch(&self.consumer, CYCLE_RECORDS, CYCLE_WAIT);
            for change in self.consumer.context().take() {
                match change {
                    Change::Assigned(partitions) => self.assigned.extend(partitions),
                    Change::Revoked(partitions) => {
                        for partition in partitions {
                            self.assigned.remove(&partition);
                        }
                    }
                }
            }
            self.stats
                .router_quiet
                .store(batch.is_empty(), Ordering::Relaxed);
            if batch.is_empty() {
                continue;
            }
            self.producer.begin()?;
            let routed = batch
                .iter()
                // revoked while this batch was read: its new owner routes it
                .filter(|m| {
                    self.assigned
                        .contains(&(m.topic().to_string(), m.partition()))
                })
                .try_for_each(|message| self.route(message));
            let positions = || {
                Ok(kouan_bus::batch::positions(
                    &self.consumer,
                    &HashMap::new(),
                )?)
            };
            match routed.and_then(|()| positions()) {
                Ok(offsets) => {
                    let group = self.consumer.group_metadata().ok_or_else(|| {
                        ProcessError::Topology("the router has no group metadata".into())
                    })?;
                    self.producer.commit(&offsets, &group)?;
                }
                Err(error) => {
                    let _ = self.producer.abort();
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    pub fn close(&mut self) {
        self.consumer.unsubscribe();
    }

    /// An input event: invalid → dead letter; direct → by-shipment; the others → shared.
    fn route(&self, message: &OwnedMessage) -> Result<(), ProcessError> {
        let payload = message.payload().unwrap_or_default();
        let event = match protobuf::decode_event(payload) {
            Ok(event) => event,
            Err(reject) => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                let origin = format!(
                    "processor:{}/{}@{}",
                    message.topic(),
                    message.partition(),
                    message.offset()
                );
                let reason = reject.to_string();
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: REJECT_REASON,
                        value: Some(&reason),
                    })
                    .insert(Header {
                        key: REJECT_ORIGIN,
                        value: Some(&origin),
                    });
                self.producer
                    .send(&self.deadletter, None, payload, Some(headers))?;
                return Ok(());
            }
        };
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        if let Some(index) = kouan_model::BodyKind::ALL
            .iter()
            .position(|kind| *kind == event.kind())
        {
            self.stats.events_by_kind[index].fetch_add(1, Ordering::Relaxed);
        }
        let key = event_key(&event);
        let (topic, partition) = match direct_subject(&event) {
            Some(subject) => (
                &self.by_shipment,
                partition_of(subject.as_bytes(), self.layout.shipments),
            ),
            None => (&self.shared, partition_of(&key, self.layout.shared)),
        };
        self.producer.send_placed(Placed {
            topic,
            partition,
            key: &key,
            payload: Some(payload),
            timestamp: message.timestamp().to_millis(),
            headers: None,
        })?;
        Ok(())
    }
}
