//! Local checkpoint files: a service's state as of some offsets, on local disk, so that a
//! restart reads only what came after from Kafka. Kafka stays the store of record; a checkpoint
//! is a shortcut, taken only when it is exactly what reading the topics again would give. What
//! every checkpoint of kouan shares lives here:
//!
//! - the file: a magic tag, the body, then an XXH3-64 checksum of both; written whole to a
//!   temporary file, synced and renamed over the last one, so a torn or damaged file is refused,
//!   never half-read ([`write`], [`read_body`]);
//! - the body's framing ([`Input`]): little-endian integers and length-prefixed bytes;
//! - the two rules that say whether Kafka still holds what came after it: its age must be within
//!   half the shortest `delete.retention.ms` of the compacted topics it resumes (compaction keeps
//!   a tombstone at least that long, so every deletion since is still there to be read,
//!   [`max_age`]), and each offset it resumes from must lie between its partition's first and
//!   next offsets (a recreated or truncated topic refuses it, [`offsets_in_range`]).

use crate::error::BusError;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use std::hash::Hasher;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The checksum over everything written, as it is written: XXH3-64 (twox-hash), many times faster
/// than the byte-at-a-time FNV-1a it replaced, which was a visible share of a restart.
struct Summing<W> {
    inner: W,
    hash: twox_hash::XxHash3_64,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hash.write(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `magic`, then what `body` writes, then the checksum, to a temporary file beside `path`,
/// syncs it and renames it over `path`.
pub fn write(
    path: &Path,
    magic: &[u8; 8],
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // of this write alone: two writers of one path (instances sharing a directory by mistake,
    // a write still running when its generation started over) never write into each other's file
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = path.with_extension(format!("tmp.{}.{write}", std::process::id()));
    let written =
        write_synced(&temporary, magic, body).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        // a failed write leaves nothing behind, and the last checkpoint as it was
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    if let Some(dir) = path.parent() {
        // the rename itself is durable only once the directory is
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn write_synced(
    temporary: &Path,
    magic: &[u8; 8],
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file = std::fs::File::create(temporary)?;
    let mut out = Summing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hash: twox_hash::XxHash3_64::new(),
    };
    out.write_all(magic)?;
    body(&mut out)?;
    let sum = out.hash.finish();
    let mut file = out.inner.into_inner().map_err(|error| error.into_error())?;
    file.write_all(&sum.to_le_bytes())?;
    file.sync_all()
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

/// A checkpoint file's bytes whose tag and checksum are verified; derefs to its body.
pub struct Verified {
    bytes: Vec<u8>,
    magic: usize,
}

impl std::ops::Deref for Verified {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[self.magic..self.bytes.len() - 8]
    }
}

/// The body of the checkpoint at `path`, its tag and checksum verified; `Ok(None)` when there is
/// none.
pub fn read_body(path: &Path, magic: &[u8; 8]) -> Result<Option<Verified>, CheckpointError> {
    match std::fs::read(path) {
        Ok(bytes) => verified_body(bytes, magic).map(Some),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CheckpointError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// A checkpoint's bytes, once its tag and checksum are verified (the body is not copied).
pub fn verified_body(bytes: Vec<u8>, magic: &[u8; 8]) -> Result<Verified, CheckpointError> {
    if bytes.len() < magic.len() + 8 || &bytes[..magic.len()] != magic {
        return Err(CheckpointError::Damaged(
            "not a kouan checkpoint of this kind",
        ));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if twox_hash::XxHash3_64::oneshot(body).to_le_bytes() != sum {
        return Err(CheckpointError::Damaged(
            "checksum mismatch: the file is torn or damaged",
        ));
    }
    Ok(Verified {
        bytes,
        magic: magic.len(),
    })
}

/// Reads a checkpoint body front to back; every read that runs past its end is "damaged".
pub struct Input<'a>(pub &'a [u8]);

impl<'a> Input<'a> {
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], CheckpointError> {
        if self.0.len() < len {
            return Err(CheckpointError::Damaged("ends early"));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], CheckpointError> {
        self.take(N).map(|bytes| bytes.try_into().expect("N bytes"))
    }

    pub fn u32(&mut self) -> Result<u32, CheckpointError> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn i32(&mut self) -> Result<i32, CheckpointError> {
        self.array().map(i32::from_le_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, CheckpointError> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn i64(&mut self) -> Result<i64, CheckpointError> {
        self.array().map(i64::from_le_bytes)
    }

    /// Bytes written with [`put_bytes`].
    pub fn bytes(&mut self) -> Result<&'a [u8], CheckpointError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    /// Text written with [`put_bytes`].
    pub fn text(&mut self) -> Result<&'a str, CheckpointError> {
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| CheckpointError::Damaged("a text is not UTF-8"))
    }

    /// A count written with [`put_count`], bounded by what is left to read (each item takes at
    /// least `item_bytes`), so a damaged count cannot make a reader allocate without bound.
    pub fn count(&mut self, item_bytes: usize) -> Result<usize, CheckpointError> {
        let count = self.u64()? as usize;
        if count.saturating_mul(item_bytes.max(1)) > self.0.len() {
            return Err(CheckpointError::Damaged(
                "a count exceeds what the file holds",
            ));
        }
        Ok(count)
    }

    /// Fails unless everything was read.
    pub fn finish(self) -> Result<(), CheckpointError> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(CheckpointError::Damaged("bytes after the last record")),
        }
    }
}

/// Length-prefixed bytes, as [`Input::bytes`] reads them.
pub fn put_bytes(out: &mut dyn Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(bytes)
}

/// A count of items, as [`Input::count`] reads it.
pub fn put_count(out: &mut dyn Write, count: usize) -> std::io::Result<()> {
    out.write_all(&(count as u64).to_le_bytes())
}

/// How old a checkpoint resuming `topics` may be: half the shortest `delete.retention.ms` of
/// them as the broker applies it. Compaction keeps a tombstone at least that long, so every
/// deletion made since a younger checkpoint is still on the topics to be read; the half leaves
/// room for a reader that was behind when it wrote. `None` (no checkpoint is used) when the
/// broker does not say, with the reason logged.
pub async fn max_age(brokers: &str, topics: &[String]) -> Option<Duration> {
    let answers = match crate::topics::settings(brokers, topics, "delete.retention.ms").await {
        Ok(answers) => answers,
        Err(error) => {
            tracing::warn!(%error, "delete.retention.ms unknown: no checkpoint will be used");
            return None;
        }
    };
    let mut shortest: Option<u64> = None;
    for (topic, answer) in topics.iter().zip(answers) {
        let Some(millis) = answer.as_deref().and_then(|value| value.parse().ok()) else {
            tracing::warn!(
                topic,
                ?answer,
                "delete.retention.ms unknown: no checkpoint will be used"
            );
            return None;
        };
        shortest = Some(shortest.map_or(millis, |s: u64| s.min(millis)));
    }
    shortest.map(|millis| Duration::from_millis(millis / 2))
}

/// [`max_age`] for a caller outside any async runtime (or on a blocking thread of one): asked
/// on a thread of its own.
pub fn max_age_blocking(brokers: &str, topics: &[String]) -> Option<Duration> {
    let (brokers, topics) = (brokers.to_string(), topics.to_vec());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(max_age(&brokers, &topics))
    })
    .join()
    .ok()
    .flatten()
}

/// Whether a checkpoint written `written_at_millis` is young enough at `now_millis`; the reason
/// when it is not.
pub fn check_age(written_at_millis: i64, now_millis: i64, max_age: Duration) -> Result<(), String> {
    let age = now_millis - written_at_millis;
    if age < 0 || age as u128 > max_age.as_millis() {
        return Err(format!(
            "written {} s ago; the bound is {} s",
            age / 1000,
            max_age.as_secs()
        ));
    }
    Ok(())
}

/// Whether every `(partition, next offset)` still lies between the partition's first and next
/// offsets on the broker; the reason when one does not.
pub fn offsets_in_range<C: ConsumerContext>(
    probe: &BaseConsumer<C>,
    topic: &str,
    offsets: impl IntoIterator<Item = (i32, i64)>,
) -> Result<Result<(), String>, BusError> {
    let offsets: Vec<(i32, i64)> = offsets.into_iter().collect();
    let asked: Vec<(String, i32)> = offsets
        .iter()
        .map(|(partition, _)| (topic.to_string(), *partition))
        .collect();
    let answers = crate::watermarks::fetch_all(probe, &asked, crate::timing::WATERMARKS);
    for ((partition, next), answer) in offsets.into_iter().zip(answers) {
        let (low, high) = answer?;
        if next < low || next > high {
            return Ok(Err(format!(
                "{topic} partition {partition} holds offsets {low}..{high}, the checkpoint resumes at {next}"
            )));
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_reads_back_and_every_damage_is_refused() {
        let dir =
            std::env::temp_dir().join(format!("kouan-checkpoint-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.checkpoint");
        assert!(read_body(&path, b"KOUANTS1").unwrap().is_none(), "none yet");
        write(&path, b"KOUANTS1", |out| {
            put_bytes(out, b"hello")?;
            put_count(out, 2)?;
            out.write_all(&7i64.to_le_bytes())?;
            out.write_all(&(-3i32).to_le_bytes())
        })
        .unwrap();
        let body = read_body(&path, b"KOUANTS1").unwrap().unwrap();
        let mut input = Input(&body);
        assert_eq!(input.text().unwrap(), "hello");
        assert_eq!(input.count(4).unwrap(), 2);
        assert_eq!(input.i64().unwrap(), 7);
        assert_eq!(input.i32().unwrap(), -3);
        input.finish().unwrap();
        assert!(matches!(
            read_body(&path, b"KOUANTS2"),
            Err(CheckpointError::Damaged(_))
        ));
        let bytes = std::fs::read(&path).unwrap();
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(
                verified_body(flipped, b"KOUANTS1").is_err(),
                "flipped byte {at}"
            );
            assert!(
                verified_body(bytes[..at].to_vec(), b"KOUANTS1").is_err(),
                "cut at {at}"
            );
        }
        // a count larger than the bytes left is damage, not an allocation
        let mut short = Input(&[255, 255, 255, 255, 255, 255, 255, 0]);
        assert!(short.count(1).is_err());
        assert!(check_age(1_000, 1_000 + 61_000, Duration::from_secs(60)).is_err());
        assert!(check_age(1_000, 1_500, Duration::from_secs(60)).is_ok());
        assert!(
            check_age(2_000, 1_000, Duration::from_secs(60)).is_err(),
            "from the future"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
