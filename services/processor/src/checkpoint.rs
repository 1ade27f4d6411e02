//! The shipment stage's local checkpoint (`kouan process --state-dir DIR`): the engine's state
//! and what the stage knows of its owned partitions, with the input and output offsets they
//! reflect, in one file — Kafka Streams' local state store with its `.checkpoint` of changelog
//! offsets. A restart loads it and reads from Kafka only what came after: the shared table from
//! its offsets, each owned partition of `kouan.internal.by-shipment` and `kouan.status` from
//! theirs; only the shipments those records touch are derived again. Without a usable checkpoint
//! the stage restores from the topics as before (the shared table and each partition whole), so
//! Kafka stays the store of record and a checkpoint is only ever a shortcut.
//!
//! **When it is taken.** Between two transactions, after a commit, every `--checkpoint-every`
//! and at a clean stop; never after a failed or fenced cycle (the engine may then hold what an
//! aborted transaction applied). At that moment the engine holds exactly the records before each
//! offset it names: for a partition with records read but held back (see [`crate::pacing`]), the
//! first of them; every owned shipment's published version and digest are what `kouan.status`
//! holds. The status offsets are the partitions' ends as the broker tells them then: every later
//! record of an owned partition is another owner's, and reading some of its own again is harmless.
//!
//! **When it is used** — only when it is exactly what restoring from the topics would give:
//! written by this build (a newer derivation must not trust digests of an older one), of the
//! same topics with the same partition counts, younger than half the shortest
//! `delete.retention.ms` of the three topics (a tombstone written since is still there to read),
//! and every offset within its partition's first and next offsets (see
//! [`kouan_bus::checkpoint_file`]). The partitions it names are held provisionally: those the
//! group assigns are resumed from their offsets, the others are dropped at the first assignment
//! (another member owns them now, and they are restored whole if they come back).
//!
//! Layout after the tag `KOUANPC4`: the write time, the build, the three topic names and the two
//! partition counts, the shared offsets, the owned partitions (partition, by-shipment offset,
//! status offset), the watermark, the events (protobuf, as on the internal topics), the three
//! relations, reach, the link floors, forgotten shipments, the parked shipments (id, floor and
//! block, see [`crate::park`]), published records, links written, and the retention schedule.
//! Integers little-endian; a checksum closes the file.

use crate::engine::EngineState;
use crate::park::ParkedBlock;
use crate::restore::Published;
use kouan_bus::checkpoint_file::{self, put_bytes, put_count, CheckpointError, Input};
use kouan_model::protobuf;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `2`: status digests are XXH3 (FNV-1a before); a checkpoint with the old ones is not used.
/// `3`: the file's checksum is XXH3 ([`kouan_bus::checkpoint_file`]) and it holds the link
/// floors; an older file is refused by its tag rather than as damaged.
/// `4`: it holds the parked shipments' blocks.
const MAGIC: &[u8; 8] = b"KOUANPC4";

/// The derivation fingerprint a checkpoint must have been written with to be used: a hash of
/// the sources that decide what is derived and how the state is laid out (`build.rs`), not the
/// package version, which does not change when a rule does.
pub const BUILD: &str = env!("KOUAN_DERIVATION_FINGERPRINT");

/// What the stage knows of one owned partition, and where it resumes.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedPartition {
    pub partition: i32,
    /// Next by-shipment offset to apply.
    pub by_shipment_offset: i64,
    /// Next `kouan.status` offset to learn from.
    pub status_offset: i64,
}

/// The stage's state as of its offsets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    pub written_at_millis: i64,
    pub build: String,
    pub by_shipment_topic: String,
    pub shared_topic: String,
    pub status_topic: String,
    /// Of `by-shipment` (= `status`) and of `shared`.
    pub shipment_partitions: i32,
    pub shared_partitions: i32,
    /// Next offset to apply of each shared partition, 0, 1, …
    pub shared_offsets: Vec<i64>,
    pub owned: Vec<OwnedPartition>,
    pub engine: EngineState,
    /// What `kouan.status` holds for each owned shipment.
    pub published: Vec<(String, Published)>,
    /// Digest of the links last written for each owned shipment.
    pub links_written: Vec<(String, u64)>,
    /// The retention schedule: `(finish, shipment)`.
    pub finished: Vec<(i64, String)>,
}

/// The checkpoint file in a state directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("process.checkpoint")
}

/// The checkpoint's body (everything between the tag and the checksum).
pub fn encode(checkpoint: &Checkpoint) -> Vec<u8> {
    let mut out = Vec::with_capacity(checkpoint.engine.events.len() * 160 + (1 << 16));
    put_body(&mut out, checkpoint).expect("writing to memory");
    out
}

/// Writes a body [`encode`] made to `path`, whole or not at all.
pub fn write(path: &Path, body: &[u8]) -> std::io::Result<()> {
    checkpoint_file::write(path, MAGIC, |out| out.write_all(body))
}

fn put_text(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    put_bytes(out, text.as_bytes())
}

fn put_relation(out: &mut dyn Write, pairs: &[(String, Vec<String>)]) -> std::io::Result<()> {
    put_count(out, pairs.len())?;
    for (from, to) in pairs {
        put_text(out, from)?;
        put_count(out, to.len())?;
        for to in to {
            put_text(out, to)?;
        }
    }
    Ok(())
}

fn put_body(out: &mut dyn Write, c: &Checkpoint) -> std::io::Result<()> {
    out.write_all(&c.written_at_millis.to_le_bytes())?;
    for text in [
        &c.build,
        &c.by_shipment_topic,
        &c.shared_topic,
        &c.status_topic,
    ] {
        put_text(out, text)?;
    }
    out.write_all(&c.shipment_partitions.to_le_bytes())?;
    out.write_all(&c.shared_partitions.to_le_bytes())?;
    put_count(out, c.shared_offsets.len())?;
    for offset in &c.shared_offsets {
        out.write_all(&offset.to_le_bytes())?;
    }
    put_count(out, c.owned.len())?;
    for owned in &c.owned {
        out.write_all(&owned.partition.to_le_bytes())?;
        out.write_all(&owned.by_shipment_offset.to_le_bytes())?;
        out.write_all(&owned.status_offset.to_le_bytes())?;
    }
    let engine = &c.engine;
    out.write_all(&engine.watermark_millis.to_le_bytes())?;
    put_count(out, engine.events.len())?;
    for event in &engine.events {
        put_bytes(out, &protobuf::encode_event(event))?;
    }
    put_relation(out, &engine.shipment_units)?;
    put_relation(out, &engine.unit_conveyances)?;
    put_relation(out, &engine.shipment_flights)?;
    for pairs in [&engine.reach, &engine.link_floors, &engine.forgotten] {
        put_count(out, pairs.len())?;
        for (id, millis) in pairs {
            put_text(out, id)?;
            out.write_all(&millis.to_le_bytes())?;
        }
    }
    put_count(out, engine.parked.len())?;
    for block in &engine.parked {
        put_text(out, &block.shipment_id)?;
        out.write_all(&block.floor_millis.to_le_bytes())?;
        put_bytes(out, &block.events)?;
    }
    put_count(out, c.published.len())?;
    for (id, published) in &c.published {
        put_text(out, id)?;
        out.write_all(&published.version.to_le_bytes())?;
        out.write_all(&[u8::from(published.digest.is_some())])?;
        out.write_all(&published.digest.unwrap_or(0).to_le_bytes())?;
    }
    put_count(out, c.links_written.len())?;
    for (id, digest) in &c.links_written {
        put_text(out, id)?;
        out.write_all(&digest.to_le_bytes())?;
    }
    put_count(out, c.finished.len())?;
    for (finish, id) in &c.finished {
        out.write_all(&finish.to_le_bytes())?;
        put_text(out, id)?;
    }
    Ok(())
}

/// Reads the checkpoint at `path`; `Ok(None)` when there is none. Damage of any kind is an
/// error, never a partial result.
pub fn read(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
    checkpoint_file::read_body(path, MAGIC)?
        .map(|body| decode(&body))
        .transpose()
}

fn get_relation(input: &mut Input<'_>) -> Result<Vec<(String, Vec<String>)>, CheckpointError> {
    let count = input.count(12)?;
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        let from = input.text()?.to_string();
        let len = input.count(4)?;
        let to = (0..len)
            .map(|_| Ok(input.text()?.to_string()))
            .collect::<Result<_, CheckpointError>>()?;
        pairs.push((from, to));
    }
    Ok(pairs)
}

/// Parses a checkpoint's body ([`encode`]).
pub fn decode(body: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let mut input = Input(body);
    let written_at_millis = input.i64()?;
    let build = input.text()?.to_string();
    let by_shipment_topic = input.text()?.to_string();
    let shared_topic = input.text()?.to_string();
    let status_topic = input.text()?.to_string();
    let shipment_partitions = input.i32()?;
    let shared_partitions = input.i32()?;
    let count = input.count(8)?;
    let shared_offsets = (0..count).map(|_| input.i64()).collect::<Result<_, _>>()?;
    let count = input.count(20)?;
    let mut owned = Vec::with_capacity(count);
    for _ in 0..count {
        owned.push(OwnedPartition {
            partition: input.i32()?,
            by_shipment_offset: input.i64()?,
            status_offset: input.i64()?,
        });
    }
    let watermark_millis = input.i64()?;
    let count = input.count(4)?;
    let mut encoded = Vec::with_capacity(count);
    for _ in 0..count {
        encoded.push(input.bytes()?);
    }
    let events = decode_events(&encoded)?;
    let shipment_units = get_relation(&mut input)?;
    let unit_conveyances = get_relation(&mut input)?;
    let shipment_flights = get_relation(&mut input)?;
    let mut timed = || -> Result<Vec<(String, i64)>, CheckpointError> {
        let count = input.count(12)?;
        let mut pairs = Vec::with_capacity(count);
        for _ in 0..count {
            pairs.push((input.text()?.to_string(), input.i64()?));
        }
        Ok(pairs)
    };
    let reach = timed()?;
    let link_floors = timed()?;
    let forgotten = timed()?;
    let count = input.count(16)?;
    let mut parked = Vec::with_capacity(count);
    for _ in 0..count {
        parked.push(ParkedBlock {
            shipment_id: input.text()?.to_string(),
            floor_millis: input.i64()?,
            events: input.bytes()?.to_vec(),
        });
    }
    let count = input.count(21)?;
    let mut published = Vec::with_capacity(count);
    for _ in 0..count {
        let id = input.text()?.to_string();
        let version = input.u64()?;
        let has_digest = input.array::<1>()?[0];
        let digest = input.u64()?;
        let digest = match has_digest {
            0 => None,
            1 => Some(digest),
            _ => {
                return Err(CheckpointError::Damaged(
                    "a published digest flag is not 0 or 1",
                ))
            }
        };
        published.push((id, Published { version, digest }));
    }
    let count = input.count(12)?;
    let mut links_written = Vec::with_capacity(count);
    for _ in 0..count {
        links_written.push((input.text()?.to_string(), input.u64()?));
    }
    let count = input.count(12)?;
    let mut finished = Vec::with_capacity(count);
    for _ in 0..count {
        let finish = input.i64()?;
        finished.push((finish, input.text()?.to_string()));
    }
    input.finish()?;
    Ok(Checkpoint {
        written_at_millis,
        build,
        by_shipment_topic,
        shared_topic,
        status_topic,
        shipment_partitions,
        shared_partitions,
        shared_offsets,
        owned,
        engine: EngineState {
            events,
            shipment_units,
            unit_conveyances,
            shipment_flights,
            reach,
            link_floors,
            forgotten,
            watermark_millis,
            parked,
        },
        published,
        links_written,
        finished,
    })
}

/// Decodes the events on every core: most of a restart's time is here.
fn decode_events(encoded: &[&[u8]]) -> Result<Vec<Arc<kouan_model::Event>>, CheckpointError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = encoded.len().div_ceil(threads).max(1);
    let decoded: Vec<Result<Vec<_>, CheckpointError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = encoded
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    // each place and source allocated once per thread, not once per event
                    let mut shared = kouan_model::Shared::default();
                    part.iter()
                        .map(|bytes| {
                            protobuf::decode_event_shared(bytes, &mut shared)
                                .map(Arc::new)
                                .map_err(|_| CheckpointError::Damaged("an event does not decode"))
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a decoding thread panicked"))
            .collect()
    });
    let mut events = Vec::with_capacity(encoded.len());
    for part in decoded {
        events.extend(part?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::retention::Retention;
    use std::collections::BTreeSet;
    use std::time::Duration;

    /// An engine that has seen a simulated month, with retention forgetting some shipments,
    /// finished shipments parked, and links of shipments owned elsewhere.
    fn engine_after_a_month() -> (Engine, Retention) {
        let events = kouan_emitter::simulator::sample(7, 400.0, 40_000);
        let mut engine = Engine::new();
        let mut retention = Retention::new(Duration::from_secs(5 * 86_400));
        for chunk in events.chunks(2_000) {
            let mut affected = BTreeSet::new();
            for event in chunk {
                engine.apply(event.clone(), &mut affected);
            }
            for id in affected {
                if let Some(status) = engine.refresh(&id) {
                    retention.note(&id, &status);
                }
            }
            retention.sweep(&mut engine);
        }
        engine.link(
            "ELSEWHERE-1",
            &["MSCU1234565".to_string()],
            &["CA1047".to_string()],
            Some(1_763_568_000_000),
        );
        (engine, retention)
    }

    #[test]
    fn an_engine_restored_from_its_checkpoint_is_the_same_engine() {
        let (engine, retention) = engine_after_a_month();
        let state = engine.state();
        assert!(
            !state.forgotten.is_empty(),
            "retention forgot some shipments"
        );
        assert!(!state.reach.is_empty(), "reach was remembered");
        assert!(
            state.parked.len() > 50,
            "finished shipments parked: {}",
            state.parked.len()
        );
        let checkpoint = Checkpoint {
            written_at_millis: 1_790_000_000_000,
            build: BUILD.into(),
            by_shipment_topic: "t.internal.by-shipment".into(),
            shared_topic: "t.internal.shared".into(),
            status_topic: "t.status".into(),
            shipment_partitions: 4,
            shared_partitions: 4,
            shared_offsets: vec![10, 0, 7, 3],
            owned: vec![OwnedPartition {
                partition: 2,
                by_shipment_offset: 55,
                status_offset: 9,
            }],
            engine: state.clone(),
            published: vec![
                (
                    "S1".into(),
                    Published {
                        version: 3,
                        digest: Some(42),
                    },
                ),
                (
                    "S2".into(),
                    Published {
                        version: 2,
                        digest: None,
                    },
                ),
            ],
            links_written: vec![("S1".into(), 77)],
            finished: retention
                .entries()
                .map(|(finish, id)| (finish, id.to_string()))
                .collect(),
        };
        let body = encode(&checkpoint);
        let decoded = decode(&body).unwrap();
        assert_eq!(decoded, checkpoint);

        let restored = Engine::from_state(decoded.engine);
        assert_eq!(restored.state().sorted(), state.sorted(), "same state");
        assert_eq!(restored.events_held(), engine.events_held());
        let shipments: BTreeSet<&kouan_model::Id> = engine.shipments().collect();
        assert_eq!(shipments, restored.shipments().collect());
        for id in shipments {
            assert_eq!(restored.status(id), engine.status(id), "status of {id}");
        }

        // every cut of the body is refused, never read as a shorter checkpoint
        for at in (0..body.len()).step_by(body.len() / 97 + 1) {
            assert!(decode(&body[..at]).is_err(), "cut at {at} accepted");
        }
    }

    #[test]
    fn a_restored_engine_goes_on_as_the_original_would() {
        let events = kouan_emitter::simulator::sample(11, 400.0, 30_000);
        let (first, rest) = events.split_at(18_000);
        let mut original = Engine::new();
        for chunk in first.chunks(3_000) {
            let mut affected = BTreeSet::new();
            for event in chunk {
                original.apply(event.clone(), &mut affected);
            }
            for id in affected {
                original.refresh(&id);
            }
        }
        assert!(
            original.shipments_parked() > 20,
            "finished shipments parked"
        );
        let mut restored = Engine::from_state(
            decode(&encode(&Checkpoint {
                engine: original.state(),
                ..Checkpoint::default()
            }))
            .unwrap()
            .engine,
        );
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        for event in rest {
            original.apply(event.clone(), &mut a);
            restored.apply(event.clone(), &mut b);
        }
        assert_eq!(a, b, "the same shipments affected");
        for id in original.shipments() {
            assert_eq!(restored.status(id), original.status(id), "status of {id}");
        }
    }
}
