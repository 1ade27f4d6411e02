//! The store's local checkpoint: every current status and alert record with the offsets they
//! reflect, in one file on local disk, so that a restarted `kouan serve` loads it and reads only
//! what came after from Kafka instead of all of `kouan.status` (time proportional to the live
//! records, not to the topic's history).
//!
//! Kafka stays the store of record; a checkpoint is only a shortcut and is used when it is
//! exactly what reading the topics again would give:
//! - written whole to a temporary file, synced and renamed over the last one, with an FNV-1a
//!   checksum over its bytes: a torn or damaged file is refused, never half-loaded;
//! - it names the topics it was read from and their partition counts; another namespace or a
//!   re-partitioned topic refuses it;
//! - every offset it resumes from must still lie between the partition's first and next offset
//!   (a recreated or truncated topic refuses it);
//! - it must be younger than its bound (the runner's: half the topics' `delete.retention.ms`),
//!   because compaction drops a tombstone that old and a checkpoint older than that could keep a
//!   shipment that was deleted while it was away.
//!
//! Layout: `KOUANQC1`, the write time (ms), the two topic names, the two position vectors, the
//! status records, the alert records (each: partition, offset, length, protobuf bytes), then
//! the checksum of everything before it. Integers are little-endian.

use crate::error::QueryError;
use crate::position::Position;
use crate::record::{Origin, TopicId};
use kouan_model::{fnv1a, fnv1a_extend, FNV1A_START};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"KOUANQC1";

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

/// FNV-1a over everything written, as it is written.
struct Summing<W> {
    inner: W,
    hash: u64,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hash = fnv1a_extend(self.hash, &bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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
    let temporary = path.with_extension("checkpoint.tmp");
    let context = || format!("writing the store checkpoint {}", temporary.display());
    let file = std::fs::File::create(&temporary).map_err(io(context()))?;
    let mut out = Summing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hash: FNV1A_START,
    };
    let put = |out: &mut Summing<_>, bytes: &[u8]| out.write_all(bytes).map_err(io(context()));
    put(&mut out, MAGIC)?;
    put(&mut out, &header.written_at_millis.to_le_bytes())?;
    for topic in [&header.status_topic, &header.alerts_topic] {
        put(&mut out, &(topic.len() as u32).to_le_bytes())?;
        put(&mut out, topic.as_bytes())?;
    }
    for topic in [TopicId::Status, TopicId::Alerts] {
        let offsets = header.position.offsets(topic);
        put(&mut out, &(offsets.len() as u32).to_le_bytes())?;
        for offset in offsets {
            put(&mut out, &offset.to_le_bytes())?;
        }
    }
    put(&mut out, &(statuses.len() as u64).to_le_bytes())?;
    for (origin, bytes) in statuses {
        put_record(&mut out, origin, bytes.as_ref()).map_err(io(context()))?;
    }
    put(&mut out, &(alerts.len() as u64).to_le_bytes())?;
    for (origin, bytes) in alerts {
        put_record(&mut out, origin, bytes.as_ref()).map_err(io(context()))?;
    }
    let sum = out.hash;
    let mut file = out.inner.into_inner().map_err(|error| QueryError::Io {
        context: context(),
        source: error.into_error(),
    })?;
    file.write_all(&sum.to_le_bytes()).map_err(io(context()))?;
    file.sync_all().map_err(io(context()))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io(format!(
        "replacing the store checkpoint {}",
        path.display()
    )))?;
    if let Some(dir) = path.parent() {
        // the rename itself is durable only once the directory is
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn put_record(out: &mut impl Write, origin: Origin, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&origin.partition.to_le_bytes())?;
    out.write_all(&origin.offset.to_le_bytes())?;
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(bytes)
}

/// Why a checkpoint file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Damaged(&'static str),
}

/// Reads a checkpoint; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    decode(&bytes).map(Some)
}

/// Parses a checkpoint's bytes; damage of any kind is an error, never a partial result.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let damaged = CheckpointError::Damaged;
    if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(damaged("not a kouan store checkpoint"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if fnv1a(body).to_le_bytes() != sum {
        return Err(damaged("checksum mismatch: the file is torn or damaged"));
    }
    let mut input = Input(&body[MAGIC.len()..]);
    let short = || CheckpointError::Damaged("ends early");
    let written_at_millis = i64::from_le_bytes(input.array().ok_or_else(short)?);
    let mut topic = || -> Result<String, CheckpointError> {
        let len = u32::from_le_bytes(input.array().ok_or_else(short)?) as usize;
        let text = input.take(len).ok_or_else(short)?;
        String::from_utf8(text.to_vec()).map_err(|_| damaged("a topic name is not UTF-8"))
    };
    let status_topic = topic()?;
    let alerts_topic = topic()?;
    let mut offsets = || -> Result<Vec<i64>, CheckpointError> {
        let count = u32::from_le_bytes(input.array().ok_or_else(short)?) as usize;
        (0..count)
            .map(|_| Ok(i64::from_le_bytes(input.array().ok_or_else(short)?)))
            .collect()
    };
    let position = Position::from_offsets(offsets()?, offsets()?);
    let mut records = |topic: TopicId| -> Result<Vec<(Origin, Vec<u8>)>, CheckpointError> {
        let count = u64::from_le_bytes(input.array().ok_or_else(short)?);
        let mut records = Vec::with_capacity(count.min(1 << 24) as usize);
        for _ in 0..count {
            let partition = i32::from_le_bytes(input.array().ok_or_else(short)?);
            let offset = i64::from_le_bytes(input.array().ok_or_else(short)?);
            let len = u32::from_le_bytes(input.array().ok_or_else(short)?) as usize;
            let bytes = input.take(len).ok_or_else(short)?.to_vec();
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
    if !input.0.is_empty() {
        return Err(damaged("bytes after the last record"));
    }
    Ok(Checkpoint {
        written_at_millis,
        status_topic,
        alerts_topic,
        position,
        statuses,
        alerts,
    })
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if self.0.len() < len {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).map(|bytes| bytes.try_into().expect("N bytes"))
    }
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
            written_at_millis: crate::now_millis(),
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
