//! The first stage of `kouan process`: input events to the internal topics, stateless.
//!
//! A consumer group of its own (`<group>-router`) splits the five event topics between the
//! instances. Each record is validated: an invalid one goes to `kouan.deadletter` with its reason
//! and origin; a shipment, air or customs event to `kouan.internal.by-shipment`, in the partition
//! of the shipment it names; an equipment or transport event to `kouan.internal.shared`. Records
//! and input offsets commit in one transaction per cycle, so every input record is routed exactly
//! once — dead letters included — across kill -9, rebalances and zombies. A group of its own, not
//! the shipment stage's: librdkafka's assignors balance the total number of partitions, so in one
//! group an instance could own every by-shipment partition and another none. The input partitions
//! are read in step in event time ([`crate::pacing`]), so that a replay of history routes the
//! events of a day together whichever topic they are on.

use crate::changelog::event_key;
use crate::engine::reported_millis;
use crate::pacing::InStep;
use crate::rebalance::{Change, Rebalances};
use crate::reference::direct_subject;
use crate::runner::{layout, Layout, ProcessConfig, ProcessError};
use crate::stats::ProcessStats;
use kouan_bus::headers::{REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::partitioner::partition_of;
use kouan_bus::{BusError, Placed, Publisher};
use kouan_model::{protobuf, Event, Reject};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

/// Most records routed per transaction.
const CYCLE_RECORDS: usize = 20_000;
/// Longest a cycle waits for its first record.
use kouan_bus::timing::CYCLE_WAIT;

/// The router's consumer group for the processor group `group`.
/// How long the router waits for the group's offsets and a partition's start when checking an
/// assignment for lost events.
const LOSS_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many records a group resuming at `resumes_at` missed on a partition that now starts at
/// `low` (`None`: nothing missed).
pub fn lost_to_retention(resumes_at: i64, low: i64) -> Option<u64> {
    (resumes_at < low).then(|| (low - resumes_at) as u64)
}

pub fn router_group(group: &str) -> String {
    format!("{group}-router")
}

pub struct Router<'a> {
    stats: &'a ProcessStats,
    layout: Layout,
    producer: Publisher,
    consumer: BaseConsumer<Rebalances>,
    assigned: HashSet<(String, i32)>,
    /// What was polled and not routed yet, merged in event time.
    in_step: InStep<(String, i32), (OwnedMessage, Result<Event, Reject>)>,
    /// Per partition, the offset after the last record routed: what a transaction commits.
    routed_next: HashMap<(String, i32), i64>,
    by_shipment: String,
    shared: String,
    deadletter: String,
    /// Losses found and not yet written to the dead-letter topic (`reason`, `origin`, records
    /// lost): written by the next transaction, with it.
    lost_notices: Vec<(String, String, u64)>,
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
            in_step: InStep::new(),
            routed_next: HashMap::new(),
            by_shipment: config.topics.by_shipment(),
            shared: config.topics.shared(),
            deadletter: config.topics.deadletter(),
            lost_notices: Vec::new(),
        })
    }

    pub fn run(&mut self, cancel: &CancellationToken) -> Result<(), ProcessError> {
        while !cancel.is_cancelled() {
            let batch = kouan_bus::batch::poll_batch(&self.consumer, CYCLE_RECORDS, CYCLE_WAIT);
            let wall = kouan_model::wall_millis();
            self.follow_rebalances(wall);
            for message in batch {
                let partition = (message.topic().to_string(), message.partition());
                if !self.assigned.contains(&partition) {
                    continue; // revoked while this batch was read: its new owner routes it
                }
                let decoded = protobuf::decode_event(message.payload().unwrap_or_default());
                let reported = decoded.as_ref().ok().map(|event| {
                    let recorded = message
                        .timestamp()
                        .to_millis()
                        .unwrap_or(event.recorded_time().unix_millis());
                    reported_millis(event, recorded)
                });
                self.in_step
                    .push(partition, reported.flatten(), (message, decoded), wall);
            }
            self.note_ends();
            self.route_in_step(wall)?;
            self.stats
                .router_quiet
                .store(self.in_step.buffered() == 0, Ordering::Relaxed);
            self.bound_buffers(wall);
        }
        Ok(())
    }

    fn follow_rebalances(&mut self, wall: i64) {
        for change in self.consumer.context().take() {
            match change {
                Change::Assigned(partitions) => {
                    self.note_losses(&partitions);
                    for partition in partitions {
                        self.in_step.assigned(partition.clone(), wall);
                        self.assigned.insert(partition);
                    }
                }
                Change::Revoked(partitions) => {
                    for partition in partitions {
                        self.in_step.revoked(&partition);
                        self.routed_next.remove(&partition);
                        self.assigned.remove(&partition);
                    }
                }
            }
        }
    }

    /// Says when the group resumes a partition past records retention deleted before they were
    /// routed: librdkafka moves an out-of-range position to the earliest record still there
    /// without a word (`auto.offset.reset`), and those events never reach a status. Each such
    /// partition is an error log line naming the offsets missed, counted in
    /// `kouan_processor_events_lost_total`. A partition the group never committed (nothing was
    /// ever routed from it) is committed at its start by the next transaction, so that a later
    /// loss there is seen too.
    fn note_losses(&mut self, partitions: &[(String, i32)]) {
        let mut list = TopicPartitionList::new();
        for (topic, partition) in partitions {
            list.add_partition(topic, *partition);
        }
        let committed = match self.consumer.committed_offsets(list, LOSS_CHECK_TIMEOUT) {
            Ok(committed) => committed,
            Err(error) => {
                tracing::warn!(%error, "could not read the group's offsets to check for lost events");
                return;
            }
        };
        for element in committed.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            let low = match self
                .consumer
                .fetch_watermarks(topic, partition, LOSS_CHECK_TIMEOUT)
            {
                Ok((low, _)) => low,
                Err(error) => {
                    tracing::warn!(%error, topic, partition, "could not read a partition's start to check for lost events");
                    continue;
                }
            };
            let rdkafka::Offset::Offset(resumes_at) = element.offset() else {
                // never committed: it starts where the topic starts, which the next commit says
                self.routed_next
                    .entry((topic.to_string(), partition))
                    .or_insert(low);
                continue;
            };
            if let Some(lost) = lost_to_retention(resumes_at, low) {
                self.stats.lost.fetch_add(lost, Ordering::Relaxed);
                self.lost_notices.push((
                    format!(
                        "lost: offsets {resumes_at} to {} ({lost} records) deleted by retention before the processor read them",
                        low - 1
                    ),
                    format!("processor:{topic}/{partition}@{resumes_at}"),
                    lost,
                ));
                tracing::error!(
                    topic,
                    partition,
                    first_missed = resumes_at,
                    last_missed = low - 1,
                    lost,
                    "events lost to retention: deleted before they were routed; raise the event topics' retention above the processor's longest outage"
                );
            }
        }
    }

    /// Tells the merge which of its empty partitions are read to their end: the consumer's
    /// position is at the high watermark of the partition's last fetch (both known locally, no
    /// request to the broker; [`kouan_bus::batch::read_to_end`]).
    fn note_ends(&mut self) {
        let empty = self.in_step.empty_lanes();
        if empty.is_empty() {
            return;
        }
        let Ok(positions) = self.consumer.position() else {
            return;
        };
        for partition in empty {
            let (topic, number) = (&partition.0, partition.1);
            let Some((low, high)) =
                kouan_bus::batch::known_watermarks(&self.consumer, topic, number)
            else {
                continue;
            };
            let position = match positions
                .find_partition(topic, number)
                .map(|element| element.offset())
            {
                Some(Offset::Offset(position)) => Some(position),
                _ => None,
            };
            if kouan_bus::batch::read_to_end(position, low, high, false) {
                self.in_step.reached_end(&partition);
            }
        }
    }

    /// Routes the buffered records that may go now, in event-time order, in one transaction with
    /// the offsets after them.
    fn route_in_step(&mut self, wall: i64) -> Result<(), ProcessError> {
        let mut routed = 0;
        let mut result = Ok(());
        // a loss is said on the dead-letter topic too (where the dashboard counts it), once
        let noticed = std::mem::take(&mut self.lost_notices);
        let mut open = !noticed.is_empty();
        if open {
            self.producer.begin()?;
            result = self.write_lost_notices(&noticed);
        }
        while routed < CYCLE_RECORDS && result.is_ok() {
            let Some((partition, (message, decoded))) = self.in_step.next(wall) else {
                break;
            };
            if !open {
                self.producer.begin()?;
                open = true;
            }
            routed += 1;
            if let Err(error) = self.route(&message, decoded) {
                result = Err(error);
                break;
            }
            self.routed_next.insert(partition, message.offset() + 1);
        }
        if !open {
            return Ok(());
        }
        match result.and_then(|()| self.offsets()) {
            Ok(offsets) => {
                let group = self.consumer.group_metadata().ok_or_else(|| {
                    ProcessError::Topology("the router has no group metadata".into())
                })?;
                let committing = std::time::Instant::now();
                let committed = if offsets.count() == 0 {
                    self.producer.commit_records()
                } else {
                    self.producer.commit(&offsets, group)
                };
                if let Err(error) = committed {
                    self.lost_notices.extend(noticed);
                    return Err(error.into());
                }
                self.stats
                    .router_commit
                    .observe(committing.elapsed().as_secs_f64());
                Ok(())
            }
            Err(error) => {
                let _ = self.producer.abort();
                self.lost_notices.extend(noticed);
                Err(error)
            }
        }
    }

    /// The losses found, each a record of the dead-letter topic: no payload, the reason and
    /// origin, and the count of records lost (`kouan-lost-records`).
    fn write_lost_notices(&self, noticed: &[(String, String, u64)]) -> Result<(), ProcessError> {
        for (reason, origin, lost) in noticed {
            let headers = kouan_bus::headers::rejection_headers(reason, origin).insert(Header {
                key: kouan_bus::headers::LOST_RECORDS,
                value: Some(lost.to_string().as_bytes()),
            });
            self.producer
                .send(&self.deadletter, None, &[], Some(headers))?;
        }
        Ok(())
    }

    /// The offsets a transaction commits: after the last record routed of each partition (not
    /// the consumer's position: what is buffered is not routed yet). A commit names a partition
    /// only once something of it was routed; any commit proves the member is in the group's
    /// current generation, so a zombie's is refused and its transaction aborts.
    fn offsets(&self) -> Result<TopicPartitionList, ProcessError> {
        if self.consumer.assignment_lost() {
            return Err(BusError::Fenced.into());
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &self.routed_next {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        Ok(offsets)
    }

    /// Pauses the partitions that buffered too much and resumes the drained ones.
    fn bound_buffers(&mut self, wall: i64) {
        let plan = self.in_step.plan(wall);
        let list = |partitions: &[(String, i32)]| {
            let mut list = TopicPartitionList::new();
            for (topic, partition) in partitions {
                list.add_partition(topic, *partition);
            }
            list
        };
        if !plan.pause.is_empty() {
            if let Err(error) = self.consumer.pause(&list(&plan.pause)) {
                tracing::warn!(%error, "pausing partitions read ahead");
            }
        }
        if !plan.resume.is_empty() {
            if let Err(error) = self.consumer.resume(&list(&plan.resume)) {
                tracing::warn!(%error, "resuming partitions");
            }
        }
    }

    pub fn close(&mut self) {
        self.consumer.unsubscribe();
    }

    /// An input event: invalid → dead letter; direct → by-shipment; the others → shared.
    fn route(
        &self,
        message: &OwnedMessage,
        decoded: Result<Event, Reject>,
    ) -> Result<(), ProcessError> {
        let payload = message.payload().unwrap_or_default();
        let event = match decoded {
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
