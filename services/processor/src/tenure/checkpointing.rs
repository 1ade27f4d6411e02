//! The stage's local checkpoint ([`crate::checkpoint`]): loading one only when it is exactly
//! what restoring from the topics would give, and taking one between transactions.

use super::*;
use crate::checkpoint::{self, Checkpoint, OwnedPartition};
use crate::engine::Engine;

/// What a loaded checkpoint knew of one partition.
pub(crate) struct Resumable {
    pub(super) by_shipment_offset: i64,
    pub(super) status_offset: i64,
    pub(super) published: Vec<(String, Published)>,
    pub(super) links_written: Vec<(String, u64)>,
    pub(super) finished: Vec<(i64, String)>,
}

/// A loaded checkpoint, taken apart for the stage.
pub(crate) struct Resumed {
    pub(super) engine: Engine,
    /// Where the shared reader starts, per partition.
    pub(super) shared_start: Vec<i64>,
    pub(super) resumable: HashMap<i32, Resumable>,
}

impl Resumed {
    /// `engine` is the one built from `checkpoint.engine` while the topics were described
    /// ([`CheckpointRead::of`]).
    pub(super) fn from(checkpoint: Checkpoint, engine: Engine, shipment_partitions: i32) -> Self {
        let mut resumable: HashMap<i32, Resumable> = checkpoint
            .owned
            .iter()
            .map(|owned| {
                let partition = Resumable {
                    by_shipment_offset: owned.by_shipment_offset,
                    status_offset: owned.status_offset,
                    published: Vec::new(),
                    links_written: Vec::new(),
                    finished: Vec::new(),
                };
                (owned.partition, partition)
            })
            .collect();
        let partition = |id: &str| partition_of(id.as_bytes(), shipment_partitions);
        for (id, published) in checkpoint.published {
            if let Some(r) = resumable.get_mut(&partition(&id)) {
                r.published.push((id, published));
            }
        }
        for (id, digest) in checkpoint.links_written {
            if let Some(r) = resumable.get_mut(&partition(&id)) {
                r.links_written.push((id, digest));
            }
        }
        for (finish, id) in checkpoint.finished {
            if let Some(r) = resumable.get_mut(&partition(&id)) {
                r.finished.push((finish, id));
            }
        }
        Resumed {
            engine,
            shared_start: checkpoint.shared_offsets,
            resumable,
        }
    }
}

/// The checkpoint writer: one write at a time, on a thread of its own.
pub(crate) struct Checkpoints {
    pub(super) path: std::path::PathBuf,
    pub(super) every: Duration,
    pub(super) last: Instant,
    pub(super) running: Option<std::thread::JoinHandle<()>>,
}

/// The checkpoint file of `dir` as read ([`checkpoint::read`]) and the engine built from it, with
/// the seconds that took: a tenure starts on it before it talks to Kafka, which it must do
/// first anyway, and throws the engine away if the checkpoint is then refused.
pub(crate) struct CheckpointRead {
    path: std::path::PathBuf,
    read: Result<Option<(Checkpoint, Engine)>, kouan_bus::checkpoint_file::CheckpointError>,
    seconds: f64,
}

impl CheckpointRead {
    pub(crate) fn of(dir: &std::path::Path) -> Self {
        let path = checkpoint::path_in(dir);
        let begun = Instant::now();
        let read = checkpoint::read(&path).map(|read| {
            read.map(|mut checkpoint| {
                let engine = Engine::from_state_in(std::mem::take(&mut checkpoint.engine), dir);
                (checkpoint, engine)
            })
        });
        CheckpointRead {
            path,
            read,
            seconds: begun.elapsed().as_secs_f64(),
        }
    }
}

/// What checking a checkpoint against the topics needs before the checkpoint itself: asked while
/// the checkpoint is read (an admin client's round trip and a reader's connection, ~0.1 s of a
/// ~1 s restart when they were made afterwards).
pub(crate) struct CheckAhead {
    /// The topics' `delete.retention.ms` bound on a checkpoint's age (`None`: unknown).
    max_age: Option<Duration>,
    probe: Result<kouan_bus::reader::Reader, kouan_bus::BusError>,
}

impl CheckAhead {
    pub(crate) fn of(config: &ProcessConfig, name: &str) -> Self {
        let topics = &config.topics;
        let topics = [topics.by_shipment(), topics.shared(), topics.status()];
        std::thread::scope(|scope| {
            let max_age = scope
                .spawn(|| kouan_bus::checkpoint_file::max_age_blocking(&config.brokers, &topics));
            let probe = kouan_bus::reader::reader(&config.brokers, &format!("{name}-probe"));
            CheckAhead {
                max_age: max_age.join().expect("asking the age bound does not panic"),
                probe,
            }
        })
    }
}

/// The checkpoint read if it is exactly what restoring from the topics would give (see
/// [`crate::checkpoint`]); otherwise `None`, with the reason logged.
pub(crate) fn usable_checkpoint(
    config: &ProcessConfig,
    layout: &Layout,
    read: CheckpointRead,
    ahead: CheckAhead,
) -> Result<Option<(Checkpoint, Engine)>, ProcessError> {
    let path = read.path;
    let refuse = |reason: String| {
        tracing::warn!(reason, path = %path.display(), "processor checkpoint refused, restoring from the topics");
        Ok(None)
    };
    let begun = Instant::now();
    let (checkpoint, engine) = match read.read {
        Ok(Some(read)) => read,
        Ok(None) => return Ok(None),
        Err(error) => return refuse(error.to_string()),
    };
    let read_seconds = read.seconds;
    let topics = &config.topics;
    let (by_shipment, shared, status) = (topics.by_shipment(), topics.shared(), topics.status());
    if checkpoint.build != checkpoint::BUILD {
        return refuse(format!(
            "written by a derivation with fingerprint {}, this one is {} (an upgrade): restoring from the topics",
            checkpoint.build,
            checkpoint::BUILD
        ));
    }
    let named = [
        &checkpoint.by_shipment_topic,
        &checkpoint.shared_topic,
        &checkpoint.status_topic,
    ];
    if named != [&by_shipment, &shared, &status] {
        return refuse(format!("it is of the topics {named:?}"));
    }
    if (checkpoint.shipment_partitions, checkpoint.shared_partitions)
        != (layout.shipments, layout.shared)
        || checkpoint.shared_offsets.len() != layout.shared as usize
    {
        return refuse(format!(
            "it was written for {} and {} partitions; the topics have {} and {}",
            checkpoint.shipment_partitions,
            checkpoint.shared_partitions,
            layout.shipments,
            layout.shared
        ));
    }
    let Some(max_age) = ahead.max_age else {
        return refuse("the topics' delete.retention.ms is unknown".into());
    };
    if let Err(reason) = kouan_bus::checkpoint_file::check_age(
        checkpoint.written_at_millis,
        kouan_model::wall_millis(),
        max_age,
    ) {
        return refuse(reason);
    }
    let probe = ahead.probe?;
    let shared_offsets = (0..).zip(checkpoint.shared_offsets.iter().copied());
    let owned = |offset: fn(&OwnedPartition) -> i64| {
        checkpoint
            .owned
            .iter()
            .map(move |o| (o.partition, offset(o)))
            .collect::<Vec<_>>()
    };
    let ranges = [
        (shared, shared_offsets.collect::<Vec<_>>()),
        (by_shipment, owned(|o| o.by_shipment_offset)),
        (status, owned(|o| o.status_offset)),
    ];
    for (topic, offsets) in ranges {
        if let Err(reason) = kouan_bus::checkpoint_file::offsets_in_range(&probe, &topic, offsets)?
        {
            return refuse(reason);
        }
    }
    tracing::info!(
        read_and_built_seconds = read_seconds,
        checked_seconds = begun.elapsed().as_secs_f64(),
        "processor checkpoint read and checked against the topics"
    );
    Ok(Some((checkpoint, engine)))
}

impl Tenure<'_> {
    /// Takes a checkpoint when one is due and the last write has finished.
    pub(super) fn checkpoint_if_due(&mut self) {
        let Some(checkpoints) = &self.checkpoints else {
            return;
        };
        let idle = checkpoints.running.as_ref().is_none_or(|w| w.is_finished());
        if !idle || checkpoints.last.elapsed() < checkpoints.every {
            return;
        }
        let Some(checkpoint) = self.checkpoint_state() else {
            return;
        };
        let checkpoints = self.checkpoints.as_mut().expect("checked");
        checkpoints.last = Instant::now();
        let path = checkpoints.path.clone();
        // encoded off the processing thread: the events are shared, not copied
        checkpoints.running = std::thread::Builder::new()
            .name("kouan-process-checkpoint".into())
            .spawn(move || write_logged(&path, &checkpoint))
            .map_err(|error| tracing::warn!(%error, "checkpoint thread not started"))
            .ok();
    }

    /// Takes a checkpoint now and waits until it is written (a clean stop).
    pub(super) fn checkpoint_now(&mut self) {
        let Some(running) = self.checkpoints.as_mut().map(|c| c.running.take()) else {
            return;
        };
        if let Some(running) = running {
            let _ = running.join();
        }
        if let Some(checkpoint) = self.checkpoint_state() {
            let path = self.checkpoints.as_ref().expect("checked").path.clone();
            write_logged(&path, &checkpoint);
        }
    }

    /// The checkpoint as of now — between transactions — or `None` while the stage does not
    /// know exactly where each input stands (a checkpoint's partitions not yet assigned or
    /// dropped, a position the clients cannot tell).
    fn checkpoint_state(&self) -> Option<Checkpoint> {
        if self.cut_short || !self.resumable.is_empty() || !self.stats.live.load(Ordering::Relaxed)
        {
            return None;
        }
        let begun = Instant::now();
        let shared_topic = self.config.topics.shared();
        let shared_positions = self.shared.reader().position().ok()?;
        let shared_offsets = (0..self.layout.shared)
            .map(|partition| {
                if let Some(held) = self.in_step.front(&(Input::Shared, partition)) {
                    return Some(held.message.offset());
                }
                match shared_positions
                    .find_partition(&shared_topic, partition)
                    .map(|p| p.offset())
                {
                    Some(rdkafka::Offset::Offset(offset)) => Some(offset),
                    // nothing read from it since the start: from there, or from its first
                    // offset if compaction has moved that past it (nothing between is left)
                    _ => {
                        let reader = self.shared.reader();
                        let (low, _) = reader
                            .fetch_watermarks(
                                &shared_topic,
                                partition,
                                kouan_bus::timing::WATERMARKS,
                            )
                            .ok()?;
                        Some(low.max(self.shared_start[partition as usize]))
                    }
                }
            })
            .collect::<Option<Vec<i64>>>()?;
        let by_shipment = self.config.topics.by_shipment();
        let status = self.config.topics.status();
        let positions = self.positions().ok()?;
        let mut owned = Vec::new();
        for partition in &self.owned {
            let by_shipment_offset =
                match positions.find_partition(&by_shipment, *partition)?.offset() {
                    rdkafka::Offset::Offset(offset) => offset,
                    _ => return None,
                };
            let (_, status_offset) = self
                .group
                .fetch_watermarks(&status, *partition, kouan_bus::timing::WATERMARKS)
                .map_err(|error| tracing::warn!(%error, "checkpoint skipped: status end unknown"))
                .ok()?;
            owned.push(OwnedPartition {
                partition: *partition,
                by_shipment_offset,
                status_offset,
            });
        }
        let checkpoint = Checkpoint {
            written_at_millis: kouan_model::wall_millis(),
            build: checkpoint::BUILD.into(),
            by_shipment_topic: by_shipment,
            shared_topic,
            status_topic: status,
            shipment_partitions: self.layout.shipments,
            shared_partitions: self.layout.shared,
            shared_offsets,
            owned,
            engine: self.engine.state(),
            published: self
                .published
                .iter()
                .map(|(id, p)| (id.clone(), *p))
                .collect(),
            links_written: self
                .links_written
                .iter()
                .map(|(id, d)| (id.clone(), *d))
                .collect(),
            finished: self
                .retention
                .entries()
                .map(|(finish, id)| (finish, id.to_string()))
                .collect(),
        };
        tracing::debug!(
            events = checkpoint.engine.events.len(),
            seconds = begun.elapsed().as_secs_f64(),
            "processor checkpoint taken"
        );
        Some(checkpoint)
    }
}

fn write_logged(path: &std::path::Path, checkpoint: &Checkpoint) {
    let begun = Instant::now();
    let body = checkpoint::encode(checkpoint);
    match checkpoint::write(path, &body) {
        Ok(()) => tracing::info!(
            path = %path.display(),
            bytes = body.len(),
            seconds = begun.elapsed().as_secs_f64(),
            "processor checkpoint written"
        ),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "processor checkpoint not written")
        }
    }
}
