//! The store's local checkpoint: every current status and alert record with the offsets they
//! reflect, in one file on local disk, so that a restarted `kouan serve` loads it and reads only
//! what came after from Kafka instead of all of `kouan.status` (time proportional to the live
//! records, not to the topic's history).
//!
//! Kafka stays the store of record; a checkpoint is only a shortcut and is used when it is
//! exactly what reading the topics again would give:
//! - written whole to a temporary file, synced and renamed over the last one, with an FNV-1a
//!   checksum over its bytes: a torn or damaged file is refused, never half-loaded
//!   ([`kouan_bus::checkpoint_file`], shared with the processor's checkpoint);
//! - it names the topics it was read from and their partition counts; another namespace or a
//!   re-partitioned topic refuses it;
//! - every offset it resumes from must still lie between the partition's first and next offset
//!   (a recreated or truncated topic refuses it);
//! - it must be younger than its bound (the runner's: half the topics' `delete.retention.ms`),
//!   because compaction drops a tombstone that old and a checkpoint older than that could keep a
//!   shipment that was deleted while it was away.
//!
//! Layout: `KOUANQC2`, the write time (ms), the two topic names, the two position vectors, the
//! status records, the alert records (each: partition, offset, length, protobuf bytes), then
//! the checksum of everything before it. Integers are little-endian.

use crate::error::QueryError;
use crate::position::Position;
use crate::record::{Origin, TopicId};
pub use kouan_bus::checkpoint_file::CheckpointError;
use kouan_bus::checkpoint_file::{self, Input};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `2`: the file's checksum is XXH3 ([`kouan_bus::checkpoint_file`]; FNV-1a in `1`).
const MAGIC: &[u8; 8] = b"KOUANQC2";

/// What a checkpoint holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    /// Wall-clock milliseconds when it was written.
    pub written_at_millis: i64,
    pub status_topic: String,
    pub alerts_topic: String,
    /// The store's position: the next offset of every partition of both topics.
    pub position: Position,
    /// Each current status record: where it was read and its `kouan.status` value.
    pub statuses: Vec<(Origin, Vec<u8>)>,
    /// Each current alert: where it was read and its `kouan.alerts` value.
    pub alerts: Vec<(Origin, Vec<u8>)>,
}

/// The checkpoint file in a state directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("store.checkpoint")
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> QueryError {
    move |source| QueryError::Io { context, source }
}

/// Writes the records of `checkpoint` (given as slices so the caller need not copy them).
pub fn write(
    path: &Path,
    header: &Checkpoint,
    statuses: impl ExactSizeIterator<Item = (Origin, impl AsRef<[u8]>)>,
    alerts: impl ExactSizeIterator<Item = (Origin, impl AsRef<[u8]>)>,
) -> Result<(), QueryError> {
    let written = checkpoint_file::write(path, MAGIC, |out| {
        out.write_all(&header.written_at_millis.to_le_bytes())?;
        for topic in [&header.status_topic, &header.alerts_topic] {
            checkpoint_file::put_bytes(out, topic.as_bytes())?;
        }
        for topic in [TopicId::Status, TopicId::Alerts] {
            let offsets = header.position.offsets(topic);
            out.write_all(&(offsets.len() as u32).to_le_bytes())?;
            for offset in offsets {
                out.write_all(&offset.to_le_bytes())?;
            }
        }
        checkpoint_file::put_count(out, statuses.len())?;
        for (origin, bytes) in statuses {
            put_record(out, origin, bytes.as_ref())?;
        }
        checkpoint_file::put_count(out, alerts.len())?;
        for (origin, bytes) in alerts {
            put_record(out, origin, bytes.as_ref())?;
        }
        Ok(())
    });
    written.map_err(io(format!(
        "writing the store checkpoint {}",
        path.display()
    )))
}

fn put_record(out: &mut dyn Write, origin: Origin, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&origin.partition.to_le_bytes())?;
    out.write_all(&origin.offset.to_le_bytes())?;
    checkpoint_file::put_bytes(out, bytes)
}

/// Reads a checkpoint; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
    checkpoint_file::read_body(path, MAGIC)?
        .map(|body| decode_body(&body))
        .transpose()
}

/// Parses a checkpoint's bytes; damage of any kind is an error, never a partial result.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    decode_body(&checkpoint_file::verified_body(bytes.to_vec(), MAGIC)?)
}

fn decode_body(body: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let mut input = Input(body);
    let written_at_millis = input.i64()?;
    let status_topic = input.text()?.to_string();
    let alerts_topic = input.text()?.to_string();
    let mut offsets = || -> Result<Vec<i64>, CheckpointError> {
        let count = input.u32()? as usize;
        (0..count).map(|_| input.i64()).collect()
    };
    let position = Position::from_offsets(offsets()?, offsets()?);
    let mut records = |topic: TopicId| -> Result<Vec<(Origin, Vec<u8>)>, CheckpointError> {
        let count = input.count(16)?;
        let mut records = Vec::with_capacity(count);
        for _ in 0..count {
            let partition = input.i32()?;
            let offset = input.i64()?;
            let bytes = input.bytes()?.to_vec();
            let origin = Origin {
                topic,
                partition,
                offset,
            };
            records.push((origin, bytes));
        }
        Ok(records)
    };
    let statuses = records(TopicId::Status)?;
    let alerts = records(TopicId::Alerts)?;
    input.finish()?;
    Ok(Checkpoint {
        written_at_millis,
        status_topic,
        alerts_topic,
        position,
        statuses,
        alerts,
    })
}

/// Writes the store's checkpoint every `every` on a thread of its own (the follower goes on
/// reading meanwhile), one write at a time, and a last one at shutdown.
pub struct Writer {
    path: PathBuf,
    every: std::time::Duration,
    status_topic: String,
    alerts_topic: String,
    last: std::time::Instant,
    running: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub fn new(
        dir: &Path,
        every: std::time::Duration,
        status_topic: &str,
        alerts_topic: &str,
    ) -> Self {
        Writer {
            path: path_in(dir),
            every,
            status_topic: status_topic.to_string(),
            alerts_topic: alerts_topic.to_string(),
            last: std::time::Instant::now(),
            running: None,
        }
    }

    /// Starts a write if one is due and none is running.
    pub fn tick(&mut self, store: &crate::Store) {
        let idle = self.running.as_ref().is_none_or(|w| w.is_finished());
        if !idle || self.last.elapsed() < self.every {
            return;
        }
        self.last = std::time::Instant::now();
        let job = self.job(store);
        self.running = std::thread::Builder::new()
            .name("kouan-checkpoint".into())
            .spawn(job)
            .map_err(|error| tracing::warn!(%error, "checkpoint thread not started"))
            .ok();
    }

    /// Waits for a running write, then writes the store as it is now.
    pub fn finish(mut self, store: &crate::Store) {
        if let Some(running) = self.running.take() {
            let _ = running.join();
        }
        self.job(store)();
    }

    fn job(&self, store: &crate::Store) -> impl FnOnce() + Send + 'static {
        let (position, statuses, alerts) = store.checkpoint_rows();
        let header = Checkpoint {
            written_at_millis: kouan_model::wall_millis(),
            status_topic: self.status_topic.clone(),
            alerts_topic: self.alerts_topic.clone(),
            position,
            ..Checkpoint::default()
        };
        let path = self.path.clone();
        move || {
            let begun = std::time::Instant::now();
            let written = write(
                &path,
                &header,
                statuses.iter().map(|r| (r.origin, r.wire())),
                alerts.iter().map(|a| (a.origin, a.wire())),
            );
            match written {
                Ok(()) => tracing::info!(
                    path = %path.display(),
                    statuses = statuses.len(),
                    alerts = alerts.len(),
                    seconds = begun.elapsed().as_secs_f64(),
                    "store checkpoint written"
                ),
                Err(error) => tracing::warn!(%error, "store checkpoint not written"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(topic: TopicId, partition: i32, offset: i64) -> Origin {
        Origin {
            topic,
            partition,
            offset,
        }
    }

    fn sample() -> Checkpoint {
        Checkpoint {
            written_at_millis: 1_790_000_000_123,
            status_topic: "t.status".into(),
            alerts_topic: "t.alerts".into(),
            position: Position::from_offsets(vec![3, 0, 7], vec![2]),
            statuses: vec![
                (origin(TopicId::Status, 0, 2), b"first".to_vec()),
                (origin(TopicId::Status, 2, 6), Vec::new()),
            ],
            alerts: vec![(origin(TopicId::Alerts, 0, 1), b"alert".to_vec())],
        }
    }

    fn written(checkpoint: &Checkpoint, dir: &Path) -> PathBuf {
        let path = path_in(dir);
        write(
            &path,
            checkpoint,
            checkpoint.statuses.iter().map(|(o, b)| (*o, b)),
            checkpoint.alerts.iter().map(|(o, b)| (*o, b)),
        )
        .unwrap();
        path
    }

    #[test]
    fn a_written_checkpoint_reads_back_whole_and_a_damaged_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("kouan-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(read(&path_in(&dir)).unwrap().is_none(), "none yet");
        let checkpoint = sample();
        let path = written(&checkpoint, &dir);
        assert_eq!(read(&path).unwrap(), Some(checkpoint.clone()));
        let bytes = std::fs::read(&path).unwrap();
        // every single flipped byte and every cut is refused, never read as something else
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(decode(&flipped).is_err(), "flipped byte {at} accepted");
            assert!(decode(&bytes[..at]).is_err(), "cut at {at} accepted");
        }
        // a later write replaces it whole
        let mut later = checkpoint;
        later.statuses.clear();
        written(&later, &dir);
        assert_eq!(read(&path).unwrap(), Some(later));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
