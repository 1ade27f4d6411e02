//! The shipment stage's life between two restores ([`Tenure`]): restore the shared table,
//! join the group, restore each partition it is assigned, then cycle — read a batch, apply it,
//! publish what changed and commit the input offsets, one transaction per cycle.
//!
//! The records read are applied in event time across every input partition, each partition's
//! own order kept ([`crate::pacing`], as the router does with the event topics): the shared
//! table's partitions (a train's events in one, its containers' in another) and the owned
//! by-shipment ones are fetched a megabyte at a time each, and applied as fetched, a replay
//! showed a container's gauge change at the Mongolian border days before its train's departure
//! was applied — a shipment "booked" and dwelling at Zamyn-Uud, judged an anomaly by the alerter.
//!
//! - [`apply`]: one record into the engine — owned by-shipment records and shared ones — and the
//!   changelog writes that keep Kafka's copy of the state equal to it.
//! - [`checkpointing`]: the local checkpoint ([`crate::checkpoint`]) — loading one that is
//!   usable, and taking one between transactions.
//! - [`rebalances`]: the group's assignments followed — partitions restored and let go of.
//! - [`in_step`]: what was read held until its event time is in step, and the partitions paused
//!   while they buffer too much.
//! - [`ends`]: when an input partition has been read to its end, and the offsets committed.
//! - [`upkeep`]: retention sweeps, latency and lag reports.
//! - [`late`]: late data — events the retention rule no longer lets count — dead-lettered.

mod apply;
mod checkpointing;
mod ends;
mod in_step;
mod late;
mod rebalances;
mod upkeep;

use ends::Ends;

use checkpointing::{
    usable_checkpoint, CheckAhead, CheckpointRead, Checkpoints, Resumable, Resumed,
};

use crate::affected::AffectedSet;
use crate::changelog::{event_key, links_key, parse_key, Key, Links};
use crate::engine::{reported_millis, Engine, Owner, Refreshed};
use crate::pacing::InStep;
use crate::progress::{Input, Progress};
use crate::rebalance::{Change, Rebalances};
use crate::reference::direct_subject;
use crate::restore::{self, Published, SharedChange};
use crate::retention::Retention;
use crate::stats::ProcessStats;
use crate::CYCLE_RECORDS;
use kouan_bus::partitioner::partition_of;
use kouan_bus::timing::CYCLE_WAIT;
use kouan_bus::{Follower, Placed, Publisher};
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

use crate::runner::{layout, Layout, ProcessConfig, ProcessError};

/// One instance's life between two restores.
pub(crate) struct Tenure<'a> {
    config: &'a ProcessConfig,
    stats: &'a ProcessStats,
    cancel: &'a CancellationToken,
    layout: Layout,
    name: String,
    producer: Publisher,
    group: BaseConsumer<Rebalances>,
    shared: Follower,
    engine: Engine,
    /// How far each input partition has been read in event time: the watermark stamped.
    progress: Progress,
    retention: Retention,
    /// By-shipment partitions this instance owns and has restored.
    owned: BTreeSet<i32>,
    /// What `kouan.status` holds for the owned shipments.
    published: HashMap<String, Published>,
    /// Where the group left each owned partition: committed for a partition that has delivered
    /// nothing yet, so that every commit names every owned partition (the zombie fence).
    start: HashMap<(String, i32), i64>,
    /// Per owned by-shipment partition, the offset after the last record its restore read: the
    /// group's consumer reads those records again, and one of a shipment forgotten since is a
    /// redelivery, not late data.
    restored_to: HashMap<i32, i64>,
    /// Digest of the links last written for each owned shipment.
    links_written: HashMap<String, u64>,
    affected: AffectedSet,
    /// Kafka timestamps of the records of this cycle that can change a status (latency).
    cycle_timestamps: Vec<i64>,
    last_log: Instant,
    lag_at: Instant,
    /// Status records of the open transaction: counted as published once it commits.
    uncommitted_published: u64,
    /// Milliseconds spent polling the inputs: the clock of [`Progress`]'s idle rule.
    polled_millis: i64,
    /// Records read, not applied yet: released in event time across every input partition.
    in_step: InStep<(Input, i32), Held>,
    /// The partitions a loaded checkpoint knew, until the group assigns them (resumed from
    /// their offsets) or the first assignment leaves them out (dropped): see [`crate::checkpoint`].
    resumable: HashMap<i32, Resumable>,
    /// Shipments the shared table's records since a loaded checkpoint touched: derived again
    /// when their partition is resumed.
    pending_affected: BTreeSet<String>,
    /// Where the shared reader started, per partition (the checkpoint's offsets, or 0 for its
    /// beginning).
    shared_start: Vec<i64>,
    /// Writes the checkpoint, when there is a state directory.
    checkpoints: Option<Checkpoints>,
    /// The digest of each shipment's links as the shared table held them when the stage
    /// started, until the first assignment: an owner restoring its partitions knows which links
    /// are written already, and does not write them all again.
    links_read: HashMap<String, u64>,
    /// A restore was cut short by the stop: the state is partial and must not be checkpointed.
    cut_short: bool,
    /// Asks whether transactions are open on `kouan.status` before a partition of it is restored.
    probes: kouan_bus::settled::Probes,
}

/// A record read and not applied yet, with its event decoded once (to know its time).
pub(crate) struct Held {
    message: OwnedMessage,
    /// `None` for a record that carries no event (a tombstone, a shared links record).
    event: Option<Result<Event, kouan_model::Reject>>,
}

impl<'a> Tenure<'a> {
    pub(crate) fn start(
        config: &'a ProcessConfig,
        stats: &'a ProcessStats,
        cancel: &'a CancellationToken,
        name: &str,
    ) -> Result<Self, ProcessError> {
        let name = name.to_string();
        // the local checkpoint is read (file, checksum, decoding) while the topics are
        // described and the transactional producer is set up: neither needs the other
        let started = Instant::now();
        let (layout, producer, probes, read) = std::thread::scope(|scope| {
            let reading = config.state_dir.as_deref().map(|dir| {
                let name = &name;
                // what checking it needs from Kafka is asked meanwhile, on a thread of its own
                let ahead = scope.spawn(move || CheckAhead::of(config, name));
                (scope.spawn(move || CheckpointRead::of(dir)), ahead)
            });
            let layout = layout(config);
            let producer = layout.as_ref().ok().map(|_| {
                Publisher::transactional(&config.brokers, &format!("kouan-process-{name}"))
            });
            let probes = layout.as_ref().ok().map(|_| {
                let probes =
                    kouan_bus::settled::Probes::new(&config.brokers, &format!("{name}-settle"))?;
                probes.connect(&config.topics.status());
                Ok::<_, kouan_bus::BusError>(probes)
            });
            let read = reading.map(|(reading, ahead)| {
                let read = reading.join().expect("reading does not panic");
                (read, ahead.join().expect("asking ahead does not panic"))
            });
            (layout, producer, probes, read)
        });
        let layout = layout?;
        let producer = producer.expect("made once the layout is known")?;
        let probes = probes.expect("made once the layout is known")?;

        // the shared table, whole or from a checkpoint's offsets, before taking any work
        let loaded = match read {
            Some((read, ahead)) => usable_checkpoint(config, &layout, read, ahead)?,
            None => None,
        };
        let resumed = loaded.is_some();
        let Resumed {
            mut engine,
            shared_start,
            mut resumable,
        } = match loaded {
            Some((checkpoint, engine)) => Resumed::from(checkpoint, engine, layout.shipments),
            None => Resumed {
                engine: Engine::new(),
                shared_start: vec![0; layout.shared.max(0) as usize],
                resumable: HashMap::new(),
            },
        };
        if let Some(dir) = &config.state_dir {
            engine.scratch_in(dir);
        }
        let checkpoint_seconds = started.elapsed().as_secs_f64();
        if resumed {
            tracing::info!(
                events = engine.events_held(),
                seconds = checkpoint_seconds,
                "processor checkpoint loaded"
            );
        }
        // a partition the checkpoint does not resume is read from its beginning, wherever
        // compaction has moved that
        let starts: std::collections::BTreeMap<i32, i64> = match resumed {
            true => (0..).zip(shared_start.iter().copied()).collect(),
            false => Default::default(),
        };
        let mut shared = Follower::new(
            kouan_bus::reader::from_offsets(
                &config.brokers,
                &format!("{name}-shared"),
                &config.topics.shared(),
                &starts,
            )?,
            cancel,
        )?;
        // shipments the shared records touch: all of a partition restored whole are derived
        // again anyway; those of a resumed partition only when touched
        let mut touched = BTreeSet::new();
        let mut records = 0u64;
        let mut links_read = HashMap::new();
        // what a forgotten shipment leaves unreached is judged once every partition is read
        engine.defer_unreachable();
        shared.catch_up(cancel, |message| {
            records += 1;
            if let (Some(Key::Links { shipment_id }), Some(payload)) =
                (message.key().and_then(parse_key), message.payload())
            {
                links_read.insert(shipment_id.to_string(), kouan_model::fnv1a(payload));
            }
            let change = restore::apply_shared(&mut engine, message, &mut touched);
            if matches!(
                change,
                SharedChange::Event { .. } | SharedChange::Stale { .. }
            ) {
                stats.applied.fetch_add(1, Ordering::Relaxed);
            }
        })?;
        // let go in memory only, as a restore always did: tombstoning them is their home
        // owner's when it forgets the shipment live
        engine.drop_unreachable();
        for resumable in resumable.values_mut() {
            resumable
                .published
                .retain(|(id, _)| !engine.is_forgotten(id));
        }
        tracing::info!(
            records,
            events = engine.events_held(),
            from_checkpoint = resumed,
            checkpoint_seconds,
            seconds = started.elapsed().as_secs_f64(),
            "shared table restored"
        );
        let pending_affected = if resumed { touched } else { BTreeSet::new() };
        let checkpoints = config.state_dir.as_ref().map(|dir| Checkpoints {
            path: crate::checkpoint::path_in(dir),
            every: config.checkpoint_every,
            last: Instant::now(),
            running: None,
        });

        // the end of each partition is signalled: a partition read to its end holds the stamped
        // watermark back no more (crate::progress)
        let group: BaseConsumer<Rebalances> =
            kouan_bus::config::group_member(&config.brokers, &config.group)
                .set("enable.partition.eof", "true")
                .create_with_context(Rebalances::default())?;
        group.subscribe(&[&config.topics.by_shipment()])?;

        Ok(Tenure {
            config,
            stats,
            cancel,
            layout,
            name,
            producer,
            group,
            shared,
            engine,
            progress: Progress::new(),
            retention: Retention::new(config.retention),
            owned: BTreeSet::new(),
            published: HashMap::new(),
            start: HashMap::new(),
            restored_to: HashMap::new(),
            links_written: HashMap::new(),
            affected: AffectedSet::new(),
            cycle_timestamps: Vec::new(),
            last_log: Instant::now(),
            lag_at: Instant::now(),
            uncommitted_published: 0,
            polled_millis: 0,
            in_step: InStep::new(),
            resumable: std::mem::take(&mut resumable),
            pending_affected,
            shared_start,
            checkpoints,
            links_read,
            cut_short: cancel.is_cancelled(),
            probes,
        })
    }

    pub(crate) fn run(&mut self) -> Result<(), ProcessError> {
        while !self.cancel.is_cancelled() {
            let polling = Instant::now();
            let (batch, ended) =
                kouan_bus::batch::poll_batch_to_ends(&self.group, CYCLE_RECORDS, CYCLE_WAIT);
            let (shared, shared_ended) = kouan_bus::batch::poll_batch_to_ends(
                self.shared.reader(),
                CYCLE_RECORDS,
                Duration::ZERO,
            );
            // the idle clock runs only while polling: a partition that delivered nothing while
            // the instance was busy applying a big batch (or starved of CPU) is not idle
            self.polled_millis += polling.elapsed().as_millis() as i64;
            self.follow_rebalances()?;
            self.progress.at(self.polled_millis);
            let wall = kouan_model::wall_millis();
            self.hold(batch, shared, wall);
            let ends = Ends {
                by_shipment: ended,
                shared: shared_ended,
            };
            self.note_lane_ends(&ends);
            let released = self.ready(wall);
            self.bound_buffers(wall);
            let quiet = released.is_empty() && self.affected.is_empty();
            self.stats
                .quiet
                .store(quiet && self.in_step.buffered() == 0, Ordering::Relaxed);
            if quiet {
                self.note_ends(ends);
                self.apply_retention_if_due()?;
                self.engine.spill_unneeded();
                self.report();
                self.checkpoint_if_due();
                continue;
            }
            self.producer.begin()?;
            self.uncommitted_published = 0;
            match self.cycle(released, ends) {
                Ok(offsets) => {
                    self.commit(&offsets)?;
                    self.stats
                        .published
                        .fetch_add(self.uncommitted_published, Ordering::Relaxed);
                }
                Err(error) => {
                    let _ = self.producer.abort();
                    return Err(error);
                }
            }
            self.observe_latency();
            self.engine.spill_unneeded();
            self.report();
            self.checkpoint_if_due();
        }
        // a clean stop, after the last commit: the state is exactly that of the offsets
        self.checkpoint_now();
        Ok(())
    }

    /// Leaves the group cleanly (a cancelled or failed tenure), flushing nothing uncommitted.
    pub(crate) fn close(&mut self) {
        self.group.unsubscribe();
    }

    /// Commits the open transaction with `offsets`, timed for `kouan_processor_commit_seconds`.
    fn commit(&self, offsets: &TopicPartitionList) -> Result<(), ProcessError> {
        let committing = Instant::now();
        self.producer.commit(offsets, self.group_metadata()?)?;
        self.stats
            .stage_commit
            .observe(committing.elapsed().as_secs_f64());
        Ok(())
    }

    fn group_metadata(&self) -> Result<rdkafka::consumer::ConsumerGroupMetadata, ProcessError> {
        self.group
            .group_metadata()
            .ok_or_else(|| ProcessError::Topology("the consumer has no group metadata".into()))
    }

    /// One transaction's work; returns the offsets to commit with it.
    fn cycle(
        &mut self,
        released: Vec<(Input, Held)>,
        ends: Ends,
    ) -> Result<TopicPartitionList, ProcessError> {
        for (input, held) in released {
            match input {
                Input::ByShipment => self.apply_owned(&held.message, held.event)?,
                Input::Shared => self.apply_shared(&held.message, held.event)?,
            }
        }
        // after the records the signals came after, before the statuses are stamped
        self.note_ends(ends);
        self.confirm_ends();
        self.publish_affected()?;
        self.apply_retention()?;
        self.positions()
    }
}

/// Reads some partitions of `topic`, each from its offset, to their ends into `each`; nothing
/// (and no client made) when there are none.
/// Reads `topic`'s partitions from `starts` to their ends, handing each record to `each` and
/// calling `keep_alive` at least every [`KEEP_ALIVE`] (a restore polls the group meanwhile, so
/// that however long it takes the member stays in the group).
fn read_from(
    brokers: &str,
    name: &str,
    topic: &str,
    starts: &[(i32, rdkafka::Offset)],
    cancel: &CancellationToken,
    mut each: impl FnMut(&rdkafka::message::BorrowedMessage<'_>),
    keep_alive: &mut dyn FnMut(),
) -> Result<(), ProcessError> {
    if starts.is_empty() {
        return Ok(());
    }
    let mut follower = Follower::partitions_at(brokers, name, topic, starts, cancel)?;
    let mut alive_at = std::time::Instant::now();
    while !cancel.is_cancelled() && !follower.caught_up() {
        if let Some(message) = follower.poll(kouan_bus::follower::POLL) {
            each(&message);
        }
        if alive_at.elapsed() >= KEEP_ALIVE {
            keep_alive();
            alive_at = std::time::Instant::now();
        }
    }
    Ok(())
}

/// How often a restore polls the group: far within `max.poll.interval.ms`.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_millis(200);

fn now() -> Timestamp {
    Timestamp::now()
}
