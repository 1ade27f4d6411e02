//! The Kafka runner of `kouan process`: a thin shell around [`Engine`], with its state of record
//! in Kafka.
//!
//! **Where the state lives.** Two compacted internal topics hold everything the engine needs, keyed
//! by event identity (see [`crate::changelog`]):
//! - `kouan.internal.by-shipment`: the direct events (shipment, air, customs), placed in the
//!   partition of the shipment they name — co-partitioned with `kouan.status`. Partition *p* of
//!   both is one unit of work, owned by one instance.
//! - `kouan.internal.shared`: equipment and transport events (a container or train touches
//!   shipments of every partition) and each live shipment's links; every instance holds it whole,
//!   as a Kafka Streams GlobalKTable.
//!
//! **Two consume–transform–produce loops per instance**, each in one transaction per cycle (EOS
//! v2): the [`crate::router`] routes input events to the internal topics (its own group); the
//! shipment stage here reads the by-shipment partitions the group (`--group`) assigned to this
//! instance and follows the shared table outside the group. Changed records go to `kouan.status`,
//! and the consumed offsets are committed in the same transaction, so a crash at any moment
//! neither loses nor repeats an effect, and a zombie (an instance paused past its session timeout
//! whose partitions moved on) cannot commit: every commit carries the position of every assigned
//! partition with the group's generation, a zombie's is refused, its transaction aborts and it
//! starts over.
//!
//! **Restart and scale-out.** An instance restores the shared table (to its end), joins the
//! group, and for each by-shipment partition it is assigned reads that partition and the same
//! partition of `kouan.status`, recomputes its shipments once and publishes only those that differ
//! from what the topic holds; then it resumes from the group's committed offsets. Restore reads
//! live state only — event topics may have been deleted by retention long before.
//!
//! **Retention** ([`crate::retention`]): an owned shipment finished more than `retention` ago
//! (event time) is forgotten: its by-shipment records are tombstoned, a `forgotten` links record
//! tells every instance, and the container and conveyance events no remembered shipment can reach
//! any more are tombstoned by the instance owning their "home" partition.

use crate::changelog::{event_key, links_key, Links};
use crate::engine::Engine;
use crate::rebalance::{Change, Rebalances};
use crate::reference::direct_subject;
use crate::restore::{self, Published, SharedChange};
use crate::retention::Retention;
use crate::router::Router;
use crate::stats::ProcessStats;
use kouan_bus::partitioner::partition_of;
use kouan_bus::{BusError, Follower, Placed, Publisher, Topics};
use kouan_model::{protobuf, Event, Timestamp};
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, TopicPartitionList};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The topics do not fit together; starting over would not help.
    #[error("topics: {0}")]
    Topology(String),
}

impl From<rdkafka::error::KafkaError> for ProcessError {
    fn from(error: rdkafka::error::KafkaError) -> Self {
        ProcessError::Bus(error.into())
    }
}

#[derive(Debug, Clone)]
pub struct ProcessConfig {
    pub brokers: String,
    pub topics: Topics,
    /// Consumer group of the instances that share the work.
    pub group: String,
    /// Finished shipments are forgotten this long (event time) after they finish.
    pub retention: Duration,
}

/// Most records read per cycle (one transaction).
const CYCLE_RECORDS: usize = 20_000;
/// Longest a cycle waits for its first record.
use kouan_bus::timing::CYCLE_WAIT;
/// Wait before starting over after a failed generation, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs the router ([`crate::router`]) and the shipment stage until `cancel`, each on its own
/// thread; either failing for good stops both.
pub fn run(
    config: &ProcessConfig,
    stats: &ProcessStats,
    cancel: &CancellationToken,
) -> Result<(), ProcessError> {
    let stop = cancel.child_token();
    let (routed, processed) = std::thread::scope(|scope| {
        let router = scope.spawn(|| {
            let result = with_restarts("router", stats, &stop, |name| {
                let mut router = Router::start(config, stats, name)?;
                let result = router.run(&stop);
                router.close();
                result
            });
            stop.cancel();
            result
        });
        let processed = with_restarts("shipments", stats, &stop, |name| {
            let mut generation = Generation::start(config, stats, &stop, name)?;
            let result = generation.run();
            generation.close();
            result
        });
        stop.cancel();
        let routed = router
            .join()
            .unwrap_or_else(|_| Err(ProcessError::Topology("the router panicked".into())));
        (routed, processed)
    });
    routed.and(processed)
}

/// Runs `body` until `cancel`; a failed or fenced generation is followed by a new one restored
/// from Kafka (the broker went away, the group moved on while this instance was paused).
fn with_restarts(
    stage: &str,
    stats: &ProcessStats,
    cancel: &CancellationToken,
    mut body: impl FnMut(&str) -> Result<(), ProcessError>,
) -> Result<(), ProcessError> {
    let mut backoff = FIRST_BACKOFF;
    while !cancel.is_cancelled() {
        let started = Instant::now();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{stage}-{}-{nanos}", std::process::id());
        match body(&name) {
            Ok(()) => return Ok(()),
            Err(ProcessError::Topology(reason)) => return Err(ProcessError::Topology(reason)),
            Err(error) => {
                stats.live.store(false, Ordering::Relaxed);
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = FIRST_BACKOFF;
                }
                tracing::warn!(%error, stage, ?backoff, "processing stopped; starting over from the state in kafka");
                let deadline = Instant::now() + backoff;
                while Instant::now() < deadline && !cancel.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    Ok(())
}

/// The partition counts the runner places records with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Of `by-shipment` and `status` (equal: they are co-partitioned).
    pub shipments: i32,
    pub shared: i32,
}

pub(crate) fn layout(config: &ProcessConfig) -> Result<Layout, ProcessError> {
    let count = |topic: String| -> Result<i32, ProcessError> {
        kouan_bus::topics::describe(&config.brokers, &topic)?
            .map(|(partitions, _)| partitions)
            .ok_or_else(|| {
                ProcessError::Topology(format!("{topic} does not exist (kouan topics create)"))
            })
    };
    let status = count(config.topics.status())?;
    let by_shipment = count(config.topics.by_shipment())?;
    if status != by_shipment {
        return Err(ProcessError::Topology(format!(
            "{} has {by_shipment} partitions and {} has {status}: they must be equal (co-partitioned by shipment)",
            config.topics.by_shipment(),
            config.topics.status()
        )));
    }
    Ok(Layout {
        shipments: status,
        shared: count(config.topics.shared())?,
    })
}

/// One instance's life between two restores.
struct Generation<'a> {
    config: &'a ProcessConfig,
    stats: &'a ProcessStats,
    cancel: &'a CancellationToken,
    layout: Layout,
    name: String,
    producer: Publisher,
    group: BaseConsumer<Rebalances>,
    shared: Follower,
    engine: Engine,
    retention: Retention,
    /// By-shipment partitions this instance owns and has restored.
    owned: BTreeSet<i32>,
    /// What `kouan.status` holds for the owned shipments.
    published: HashMap<String, Published>,
    /// Where the group left each owned partition: committed for a partition that has delivered
    /// nothing yet, so that every commit names every owned partition (the zombie fence).
    start: HashMap<(String, i32), i64>,
    /// Digest of the links last written for each owned shipment.
    links_written: HashMap<String, u64>,
    affected: BTreeSet<String>,
    /// Kafka timestamps of the records of this cycle that can change a status (latency).
    cycle_timestamps: Vec<i64>,
    last_log: Instant,
    lag_at: Instant,
}

impl<'a> Generation<'a> {
    fn start(
        config: &'a ProcessConfig,
        stats: &'a ProcessStats,
        cancel: &'a CancellationToken,
        name: &str,
    ) -> Result<Self, ProcessError> {
        let layout = layout(config)?;
        let name = name.to_string();
        let producer = Publisher::transactional(&config.brokers, &format!("kouan-process-{name}"))?;

        // the shared table, whole, before taking any work
        let started = Instant::now();
        let mut shared = Follower::from_beginning(
            &config.brokers,
            &format!("{name}-shared"),
            &[config.topics.shared()],
            cancel,
        )?;
        let mut engine = Engine::new();
        let mut ignored = BTreeSet::new();
        let mut records = 0u64;
        shared.catch_up(cancel, |message| {
            records += 1;
            restore::apply_shared(&mut engine, message, &mut ignored);
        })?;
        tracing::info!(
            records,
            events = engine.events_held(),
            seconds = started.elapsed().as_secs_f64(),
            "shared table restored"
        );

        let group: BaseConsumer<Rebalances> =
            kouan_bus::config::group_member(&config.brokers, &config.group)
                .create_with_context(Rebalances::default())?;
        group.subscribe(&[&config.topics.by_shipment()])?;

        Ok(Generation {
            config,
            stats,
            cancel,
            layout,
            name,
            producer,
            group,
            shared,
            engine,
            retention: Retention::new(config.retention),
            owned: BTreeSet::new(),
            published: HashMap::new(),
            start: HashMap::new(),
            links_written: HashMap::new(),
            affected: BTreeSet::new(),
            cycle_timestamps: Vec::new(),
            last_log: Instant::now(),
            lag_at: Instant::now(),
        })
    }

    fn run(&mut self) -> Result<(), ProcessError> {
        while !self.cancel.is_cancelled() {
            let batch = kouan_bus::batch::poll_batch(&self.group, CYCLE_RECORDS, CYCLE_WAIT);
            self.follow_rebalances()?;
            let shared =
                kouan_bus::batch::poll_batch(self.shared.reader(), CYCLE_RECORDS, Duration::ZERO);
            let quiet = batch.is_empty() && shared.is_empty() && self.affected.is_empty();
            self.stats.quiet.store(quiet, Ordering::Relaxed);
            if quiet {
                self.retire_if_due()?;
                self.report();
                continue;
            }
            self.producer.begin()?;
            match self.cycle(batch, shared) {
                Ok(offsets) => self.producer.commit(&offsets, &self.group_metadata()?)?,
                Err(error) => {
                    let _ = self.producer.abort();
                    return Err(error);
                }
            }
            self.observe_latency();
            self.report();
        }
        Ok(())
    }

    /// Leaves the group cleanly (a cancelled or failed generation), flushing nothing uncommitted.
    fn close(&mut self) {
        self.group.unsubscribe();
    }

    fn group_metadata(&self) -> Result<rdkafka::consumer::ConsumerGroupMetadata, ProcessError> {
        self.group
            .group_metadata()
            .ok_or_else(|| ProcessError::Topology("the consumer has no group metadata".into()))
    }

    /// Acts on what the group decided: restores gained by-shipment partitions, releases lost ones.
    fn follow_rebalances(&mut self) -> Result<(), ProcessError> {
        let before = self.owned.clone();
        let mut heard = false;
        for change in self.group.context().take() {
            heard = true;
            match change {
                Change::Assigned(partitions) => {
                    let partitions: Vec<i32> = partitions.iter().map(|(_, p)| *p).collect();
                    self.restore_partitions(&partitions)?;
                }
                Change::Revoked(partitions) => {
                    for (_, partition) in partitions {
                        self.release_partition(partition);
                    }
                }
            }
        }
        self.stats
            .owned
            .store(self.owned.len() as u64, Ordering::Relaxed);
        if self.owned != before {
            tracing::info!(owned = ?self.owned, "ownership changed");
        }
        // live once the group has spoken (an instance may be given nothing)
        if heard && !self.stats.live.swap(true, Ordering::Relaxed) {
            tracing::info!(owned = ?self.owned, "restored, processing");
        }
        Ok(())
    }

    /// Restores gained partitions together: their by-shipment records and what `kouan.status`
    /// holds for them, one reader per topic.
    fn restore_partitions(&mut self, partitions: &[i32]) -> Result<(), ProcessError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let mut restored = BTreeSet::new();
        let mut records = 0u64;
        restore::read_partitions(
            &self.config.brokers,
            &format!("{}-restore", self.name),
            &self.config.topics.by_shipment(),
            partitions,
            self.cancel,
            |message| {
                records += 1;
                restore::apply_by_shipment(&mut self.engine, message, &mut restored);
            },
        )?;
        let published = &mut self.published;
        restore::read_partitions(
            &self.config.brokers,
            &format!("{}-restore-status", self.name),
            &self.config.topics.status(),
            partitions,
            self.cancel,
            |message| restore::learn_published(published, message),
        )?;
        self.start.extend(kouan_bus::batch::committed(
            &self.group,
            &self.config.topics.by_shipment(),
            partitions,
        )?);
        self.owned.extend(partitions);
        // every shipment of the partitions is recomputed once and compared with what is published
        let shipments = self.layout.shipments;
        self.affected.extend(
            self.engine
                .shipments()
                .filter(|id| partitions.contains(&partition_of(id.as_bytes(), shipments)))
                .cloned(),
        );
        tracing::info!(
            ?partitions,
            records,
            seconds = started.elapsed().as_secs_f64(),
            "partitions restored"
        );
        Ok(())
    }

    fn release_partition(&mut self, partition: i32) {
        self.owned.remove(&partition);
        self.start
            .remove(&(self.config.topics.by_shipment(), partition));
        let shipments = self.layout.shipments;
        let released: Vec<String> = self
            .published
            .keys()
            .chain(self.engine.shipments())
            .filter(|id| partition_of(id.as_bytes(), shipments) == partition)
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for id in &released {
            self.engine.release(id);
            self.published.remove(id);
            self.links_written.remove(id);
        }
        tracing::info!(partition, shipments = released.len(), "partition released");
    }

    /// One transaction's work; returns the offsets to commit with it.
    fn cycle(
        &mut self,
        batch: Vec<OwnedMessage>,
        shared: Vec<OwnedMessage>,
    ) -> Result<TopicPartitionList, ProcessError> {
        for message in &batch {
            if !self.owned.contains(&message.partition()) {
                continue; // revoked while this batch was read: its new owner reads it again
            }
            self.apply_owned(message)?;
        }
        for message in &shared {
            self.apply_shared(message)?;
        }
        self.publish_affected()?;
        self.retire()?;
        self.positions()
    }

    fn positions(&self) -> Result<TopicPartitionList, ProcessError> {
        Ok(kouan_bus::batch::positions(&self.group, &self.start)?)
    }

    /// A by-shipment record of an owned partition.
    fn apply_owned(&mut self, message: &OwnedMessage) -> Result<(), ProcessError> {
        let Some(payload) = message.payload() else {
            return Ok(());
        };
        let Ok(event) = protobuf::decode_event(payload) else {
            tracing::warn!(
                partition = message.partition(),
                offset = message.offset(),
                "undecodable record on the by-shipment topic"
            );
            return Ok(());
        };
        // the key is only needed off the hot path: a forgotten shipment or an older version
        if direct_subject(&event).is_some_and(|subject| self.engine.is_forgotten(subject)) {
            // a late event of a forgotten shipment: it is ignored, and need not be kept
            return self.write_by_shipment(message.partition(), &event_key(&event), None, None);
        }
        if !self.engine.is_news(&event) {
            // an older version arrived after the counted one: write the counted one again, so
            // that compaction keeps it
            if let Some(winner) = self.engine.winner_of(&event).cloned() {
                if *winner != event {
                    let bytes = protobuf::encode_event(&winner);
                    self.write_by_shipment(
                        message.partition(),
                        &event_key(&event),
                        Some(&bytes),
                        None,
                    )?;
                }
            }
            return Ok(());
        }
        let recorded = message
            .timestamp()
            .to_millis()
            .unwrap_or(event.recorded_time().unix_millis());
        if let Some(timestamp) = message.timestamp().to_millis() {
            self.cycle_timestamps.push(timestamp);
        }
        self.engine
            .apply_recorded(event, recorded, &mut self.affected);
        Ok(())
    }

    fn apply_shared(&mut self, message: &OwnedMessage) -> Result<(), ProcessError> {
        match restore::apply_shared(&mut self.engine, message, &mut self.affected) {
            SharedChange::Forgotten(dropped) => self.tombstone_unreachable(&dropped)?,
            // an older version written after the counted one: its home owner writes the counted
            // one again, so that compaction keeps it
            SharedChange::Stale(winner) => {
                let key = event_key(&winner);
                if self
                    .owned
                    .contains(&partition_of(&key, self.layout.shipments))
                {
                    let bytes = protobuf::encode_event(&winner);
                    self.producer.send_placed(Placed {
                        topic: &self.config.topics.shared(),
                        partition: partition_of(&key, self.layout.shared),
                        key: &key,
                        payload: Some(&bytes),
                        timestamp: None,
                        headers: None,
                    })?;
                }
            }
            SharedChange::Event | SharedChange::Other => {}
        }
        Ok(())
    }

    /// Tombstones the shared events of containers and conveyances that became unreachable, for
    /// those whose home partition (by identity) this instance owns — one writer each.
    fn tombstone_unreachable(&mut self, dropped: &[Arc<Event>]) -> Result<(), ProcessError> {
        for event in dropped.iter().filter(|e| direct_subject(e).is_none()) {
            let key = event_key(event);
            let home = partition_of(&key, self.layout.shipments);
            if self.owned.contains(&home) {
                self.producer.send_placed(Placed {
                    topic: &self.config.topics.shared(),
                    partition: partition_of(&key, self.layout.shared),
                    key: &key,
                    payload: None,
                    timestamp: None,
                    headers: None,
                })?;
            }
        }
        Ok(())
    }

    fn write_by_shipment(
        &self,
        partition: i32,
        key: &[u8],
        payload: Option<&[u8]>,
        timestamp: Option<i64>,
    ) -> Result<(), ProcessError> {
        self.producer.send_placed(Placed {
            topic: &self.config.topics.by_shipment(),
            partition,
            key,
            payload,
            timestamp,
            headers: None,
        })?;
        Ok(())
    }

    /// Derives every affected owned shipment and publishes the records that changed, with the
    /// links other instances need.
    fn publish_affected(&mut self) -> Result<(), ProcessError> {
        let now = now();
        let status_topic = self.config.topics.status();
        for shipment_id in std::mem::take(&mut self.affected) {
            let partition = partition_of(shipment_id.as_bytes(), self.layout.shipments);
            if !self.owned.contains(&partition) || self.engine.is_forgotten(&shipment_id) {
                continue;
            }
            let previous = self.published.get(&shipment_id).copied();
            match self.engine.refresh(&shipment_id) {
                Some(status) => {
                    let version = previous.map_or(1, |p| p.version + 1);
                    let (record, digest) = status.record(version, &now);
                    self.retention.note(&shipment_id, &status);
                    self.write_links(&shipment_id)?;
                    if previous.and_then(|p| p.digest) == Some(digest) {
                        continue;
                    }
                    self.producer.send_placed(Placed {
                        topic: &status_topic,
                        partition,
                        key: shipment_id.as_bytes(),
                        payload: Some(&record.encode_to_vec()),
                        timestamp: None,
                        headers: None,
                    })?;
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                    self.published.insert(
                        shipment_id,
                        Published {
                            version,
                            digest: Some(digest),
                        },
                    );
                }
                None => {
                    if let Some(p) = previous.filter(|p| p.digest.is_some()) {
                        self.producer.send_placed(Placed {
                            topic: &status_topic,
                            partition,
                            key: shipment_id.as_bytes(),
                            payload: None,
                            timestamp: None,
                            headers: None,
                        })?;
                        self.stats.published.fetch_add(1, Ordering::Relaxed);
                        self.published.insert(
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
        Ok(())
    }

    /// Writes a shipment's links to the shared table when they changed.
    fn write_links(&mut self, shipment_id: &str) -> Result<(), ProcessError> {
        let (units, flights) = self.engine.links_of(shipment_id);
        let links = Links {
            units,
            flights,
            forgotten: false,
        };
        let bytes = links.encode_to_vec();
        let digest = kouan_model::fnv1a(&bytes);
        let unchanged = match self.links_written.get(shipment_id) {
            Some(written) => *written == digest,
            // nothing to tell about a shipment without units or flights
            None => links.units.is_empty() && links.flights.is_empty(),
        };
        if unchanged {
            return Ok(());
        }
        self.send_links(shipment_id, &bytes)?;
        self.links_written.insert(shipment_id.to_string(), digest);
        Ok(())
    }

    fn send_links(&self, shipment_id: &str, bytes: &[u8]) -> Result<(), ProcessError> {
        let key = links_key(shipment_id);
        self.producer.send_placed(Placed {
            topic: &self.config.topics.shared(),
            partition: partition_of(&key, self.layout.shared),
            key: &key,
            payload: Some(bytes),
            timestamp: None,
            headers: None,
        })?;
        Ok(())
    }

    /// Forgets the owned shipments due under the retention rule (inside the open transaction).
    fn retire(&mut self) -> Result<(), ProcessError> {
        let shipments = self.layout.shipments;
        let owned = self.owned.clone();
        let mut forgotten: Vec<(String, Vec<Arc<Event>>)> = Vec::new();
        self.retention.sweep_with(
            &mut self.engine,
            |id| owned.contains(&partition_of(id.as_bytes(), shipments)),
            |id, dropped| forgotten.push((id.to_string(), dropped)),
        );
        for (shipment_id, dropped) in forgotten {
            let partition = partition_of(shipment_id.as_bytes(), shipments);
            for event in dropped.iter().filter(|e| direct_subject(e).is_some()) {
                self.write_by_shipment(partition, &event_key(event), None, None)?;
            }
            self.tombstone_unreachable(&dropped)?;
            let links = Links {
                forgotten: true,
                ..Links::default()
            };
            self.send_links(&shipment_id, &links.encode_to_vec())?;
            self.published.remove(&shipment_id);
            self.links_written.remove(&shipment_id);
            self.stats.forgotten.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Retention when nothing else happens: a transaction only when something is due.
    fn retire_if_due(&mut self) -> Result<(), ProcessError> {
        if !self.retention.due(self.engine.watermark_millis()) {
            return Ok(());
        }
        self.producer.begin()?;
        match self.retire() {
            Ok(()) => self
                .producer
                .commit(&self.positions()?, &self.group_metadata()?)?,
            Err(error) => {
                let _ = self.producer.abort();
                return Err(error);
            }
        }
        Ok(())
    }

    fn observe_latency(&mut self) {
        if self.cycle_timestamps.is_empty() {
            return;
        }
        let done = now_unix_millis();
        for published_at in self.cycle_timestamps.drain(..) {
            self.stats
                .latency
                .observe((done - published_at) as f64 / 1000.0);
        }
    }

    fn report(&mut self) {
        self.stats
            .held
            .store(self.engine.events_held() as u64, Ordering::Relaxed);
        if self.lag_at.elapsed() >= kouan_bus::timing::LAG_REPORT {
            self.lag_at = Instant::now();
            let lag: i64 = kouan_bus::follower::lag(&self.group).values().sum();
            self.stats.lag.store(lag, Ordering::Relaxed);
        }
        if self.last_log.elapsed() >= Duration::from_secs(10) {
            tracing::info!(
                events = self.stats.events.load(Ordering::Relaxed),
                published = self.stats.published.load(Ordering::Relaxed),
                rejected = self.stats.rejected.load(Ordering::Relaxed),
                held = self.engine.events_held(),
                owned = ?self.owned,
                "processing"
            );
            self.last_log = Instant::now();
        }
    }
}

fn now_unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(since_epoch.as_secs() as i64, since_epoch.subsec_nanos(), 0)
        .expect("now is in range")
}
