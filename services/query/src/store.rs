//! The status store: the latest record per shipment and per alert, what the indexes, the feeds
//! and the snapshot read.
//!
//! Writers are the topic follower (one thread, decoding on rayon's pool); readers are the HTTP
//! handlers. Everything is behind one `RwLock` whose critical sections are short: records are
//! immutable `Arc`s.
//!
//! - [`changes`]: the change log the feeds and webhooks read, and resume cursors.
//! - [`heads`]: the rendered JSON of recently looked-up records.
//! - [`incoming`]: records on their way in — decoded on every core before the lock, a batch
//!   decoded while the one before is applied.
//! - [`indexes`]: the facet indexes behind lookups, filtered lists and alert lists.
//! - [`network`]: where the caller's shipments are now (the dashboard's network view).

mod changes;
mod heads;
mod incoming;
mod indexes;
mod network;
#[cfg(test)]
mod tests;

pub use changes::{Batch, ChangeKind, Cursor, Item};
pub use incoming::{decode_batch, Decoded, Intake, Read};
pub use indexes::ListQuery;

use crate::error::QueryError;
use crate::position::Position;
use crate::record::{AlertRecord, Interner, Origin, StatusRecord};
use changes::{Change, Rendered};
use incoming::DecodedKind;
use indexes::Facet;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// Changes at the live end of the log whose JSON, once rendered for one reader, is kept for the
/// next: a thousand feeds render each change once. Readers further behind render their own.
const RENDERED_KEPT: usize = 4096;

/// Checkpoint records decoded at a time on every core while a restore applies them.
const RESTORE_BATCH: usize = 8192;

/// Shipments per Arrow chunk of the snapshot: an update rebuilds only its chunk.
pub const CHUNK: usize = 4096;

#[derive(Debug, Default)]
struct State {
    shipments: BTreeMap<Arc<str>, (u32, Arc<StatusRecord>)>,
    slots: Vec<Option<Arc<StatusRecord>>>,
    free_slots: Vec<u32>,
    index: HashMap<Facet, BTreeSet<Arc<str>>>,
    alerts: BTreeMap<Arc<str>, Arc<AlertRecord>>,
    log: VecDeque<Change>,
    next_seq: u64,
    /// Everything dropped from the front of the log lies below this position.
    trimmed: Position,
    position: Position,
    dirty_chunks: BTreeSet<usize>,
    alerts_dirty: bool,
}

/// Whether an applied record is a change feeds and webhooks are told of (a restore's are not:
/// they were before the checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logged {
    Yes,
    No,
}

/// Counters for `/metrics` and logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoreCounts {
    pub shipments: usize,
    pub alerts: usize,
    pub firing: usize,
    pub log: usize,
}

pub struct Store {
    state: parking_lot::RwLock<State>,
    /// Partitions of the status and alerts topics, once known: resume tokens naming more are
    /// not ours (and would make every later token as large).
    partitions: parking_lot::Mutex<Option<(usize, usize)>>,
    feed_window: usize,
    latest: tokio::sync::watch::Sender<u64>,
    /// The pipeline's "now" from the watermarks on the status records (see
    /// [`kouan_bus::event_clock`]): dwell hours are measured against it, so while the pipeline
    /// catches up they are those of the time it has reached, not of today.
    clock: parking_lot::Mutex<kouan_bus::EventClock>,
    /// Shippers and nodes, one copy each (only the follower's thread takes it).
    interner: parking_lot::Mutex<Interner>,
    heads: heads::Heads,
    /// The DCSA events of every shipment (its own lock: a DCSA page never holds the store's).
    dcsa: parking_lot::RwLock<crate::dcsa::DcsaIndex>,
    /// What the dead-letter topic holds, counted ([`crate::dead_letters`]).
    pub dead_letters: Arc<crate::dead_letters::DeadLetters>,
}

/// Rows of one snapshot refresh: the chunks that changed with their records, and the alerts
/// if they changed.
pub struct DirtyRows {
    pub chunks: Vec<(usize, Vec<Arc<StatusRecord>>)>,
    pub alerts: Option<Vec<Arc<AlertRecord>>>,
}

impl Store {
    /// `feed_window`: how many changes the log keeps for feeds and webhooks to resume from;
    /// a reader further behind catches up from the current records instead (intermediate
    /// versions of a shipment are then skipped, the latest is never lost).
    pub fn new(feed_window: usize) -> Self {
        Self {
            state: Default::default(),
            feed_window: feed_window.max(1),
            partitions: Default::default(),
            latest: tokio::sync::watch::channel(0).0,
            clock: Default::default(),
            interner: Default::default(),
            heads: Default::default(),
            dcsa: Default::default(),
            dead_letters: Default::default(),
        }
    }

    /// The DCSA events, for reading.
    pub fn dcsa(&self) -> parking_lot::RwLockReadGuard<'_, crate::dcsa::DcsaIndex> {
        self.dcsa.read()
    }

    /// A status record of `partition` carried the processor's `watermark`.
    pub fn observe_watermark(&self, partition: i32, watermark: i64) {
        self.clock
            .lock()
            .observe(partition, watermark, kouan_model::wall_millis());
    }

    /// The follower has read `partitions` of `kouan.status` to their end.
    pub fn status_partitions_ended(&self, partitions: impl IntoIterator<Item = i32>) {
        let mut clock = self.clock.lock();
        for partition in partitions {
            clock.reached_end(partition);
        }
    }

    /// The pipeline's now (Unix milliseconds): event time while it catches up, the wall clock
    /// once it has caught up.
    pub fn now_millis(&self) -> i64 {
        self.clock.lock().now(kouan_model::wall_millis())
    }

    /// How far the pipeline's now is behind the wall clock, in milliseconds.
    pub fn behind_millis(&self) -> i64 {
        self.clock.lock().behind_millis(kouan_model::wall_millis())
    }

    /// Whether the pipeline is catching up: its now is more than
    /// [`CATCHING_UP_MILLIS`](network::CATCHING_UP_MILLIS) behind the wall clock (the
    /// dashboard's banner).
    pub fn catching_up(&self) -> bool {
        self.behind_millis() >= network::CATCHING_UP_MILLIS
    }

    /// The partition counts of the topics followed (status, alerts).
    pub fn set_partitions(&self, status: usize, alerts: usize) {
        *self.partitions.lock() = Some((status, alerts));
    }

    /// Whether a resume token fits the topics: no more partitions than they have.
    pub fn accepts(&self, position: &Position) -> bool {
        let (status, alerts) = position.partitions();
        self.partitions
            .lock()
            .is_none_or(|(max_status, max_alerts)| status <= max_status && alerts <= max_alerts)
    }

    /// Wakes when the log grows.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// Applies a `kouan.status` record (`None`: a tombstone). A record that does not decode
    /// is an error and changes nothing but the position.
    pub fn apply_status(
        &self,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        origin: Origin,
    ) -> Result<(), QueryError> {
        self.apply_read(origin, key, payload)
    }

    /// Applies a `kouan.alerts` record.
    pub fn apply_alert(&self, payload: &[u8], origin: Origin) -> Result<(), QueryError> {
        self.apply_read(origin, None, Some(payload))
    }

    fn apply_read(
        &self,
        origin: Origin,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
    ) -> Result<(), QueryError> {
        let read = Read {
            origin,
            key: key.map(Into::into),
            payload: payload.map(Into::into),
            watermark: None,
        };
        let decoded = decode_batch(vec![read])
            .pop()
            .expect("one decoded per read");
        self.apply(decoded)
    }

    /// Applies a record decoded by [`decode_batch`] (after taking the watermark it carried). A
    /// record that did not decode is an error and changes nothing but the position.
    pub fn apply(&self, decoded: Decoded) -> Result<(), QueryError> {
        self.apply_as(decoded, Logged::Yes)
    }

    /// Applies decoded records in order; returns those that did not decode, with why.
    fn apply_all(&self, decoded: Vec<Decoded>, logged: Logged) -> Vec<(Origin, QueryError)> {
        decoded
            .into_iter()
            .filter_map(|decoded| {
                let origin = decoded.origin;
                self.apply_as(decoded, logged)
                    .err()
                    .map(|error| (origin, error))
            })
            .collect()
    }

    fn apply_as(&self, decoded: Decoded, logged: Logged) -> Result<(), QueryError> {
        if let Some(watermark) = decoded.watermark {
            self.observe_watermark(decoded.origin.partition, watermark);
        }
        /// A decoded record with its texts interned: what is applied under the store's lock.
        enum Incoming {
            Status(Arc<StatusRecord>, crate::dcsa::ShipmentEvents),
            Removed(Option<Box<[u8]>>),
            Alert(Arc<AlertRecord>),
        }
        let origin = decoded.origin;
        // interned before the store's lock: only the follower's thread takes the interner
        let incoming = match decoded.kind {
            DecodedKind::Nothing => return Ok(()),
            DecodedKind::Status(Err(error)) | DecodedKind::Alert(Err(error)) => {
                self.state.write().position.advance(&origin);
                return Err(error);
            }
            DecodedKind::Status(Ok(mut status)) => {
                let dcsa = std::mem::take(&mut status.dcsa);
                Incoming::Status(
                    Arc::new(status.into_record(&mut self.interner.lock())),
                    dcsa,
                )
            }
            DecodedKind::Alert(Ok(alert)) => Incoming::Alert(Arc::new(alert)),
            DecodedKind::Removed(key) => Incoming::Removed(key),
        };
        let mut state = self.state.write();
        state.position.advance(&origin);
        // the DCSA events the change added to its shipment (subscriptions are told of these)
        let mut dcsa_added: Option<Arc<[crate::dcsa::Key]>> = None;
        let change = match incoming {
            Incoming::Alert(alert) => {
                state.alerts.insert(alert.alert_id.clone(), alert.clone());
                state.alerts_dirty = true;
                ChangeKind::Alert(alert)
            }
            Incoming::Removed(key) => {
                let Some(key) = key.as_deref().and_then(|k| std::str::from_utf8(k).ok()) else {
                    return Ok(());
                };
                let Some((slot, old)) = state.shipments.remove(key) else {
                    return Ok(());
                };
                state.unindex(&old);
                state.slots[slot as usize] = None;
                state.free_slots.push(slot);
                state.dirty_chunks.insert(slot as usize / CHUNK);
                self.dcsa.write().remove(key);
                ChangeKind::Removed(old)
            }
            Incoming::Status(record, dcsa) => {
                let slot = match state.shipments.get(&record.shipment_id) {
                    Some((slot, old)) => {
                        if old.version == record.version && old.same_content(&record) {
                            return Ok(());
                        }
                        let (slot, old) = (*slot, old.clone());
                        state.unindex(&old);
                        slot
                    }
                    None => match state.free_slots.pop() {
                        Some(slot) => slot,
                        None => {
                            state.slots.push(None);
                            (state.slots.len() - 1) as u32
                        }
                    },
                };
                state.index(&record);
                state.slots[slot as usize] = Some(record.clone());
                state
                    .shipments
                    .insert(record.shipment_id.clone(), (slot, record.clone()));
                state.dirty_chunks.insert(slot as usize / CHUNK);
                let added =
                    self.dcsa
                        .write()
                        .replace(&record.shipment_id, record.shipper.clone(), dcsa);
                dcsa_added = Some(added.into());
                ChangeKind::Status(record)
            }
        };
        if logged == Logged::Yes {
            self.log(&mut state, origin, change, dcsa_added);
        }
        Ok(())
    }

    fn log(
        &self,
        state: &mut State,
        origin: Origin,
        kind: ChangeKind,
        dcsa_added: Option<Arc<[crate::dcsa::Key]>>,
    ) {
        let seq = state.next_seq;
        state.next_seq += 1;
        let position = state.position.clone();
        state.log.push_back(Change {
            seq,
            origin,
            kind,
            position,
            rendered: Rendered::shared(),
            dcsa_added,
        });
        while state.log.len() > self.feed_window {
            let dropped = state.log.pop_front().expect("non-empty");
            state.trimmed.advance(&dropped.origin);
        }
        // the log keeps rendered JSON only near its live end, where the feeds are
        if let Some(older) = state.log.len().checked_sub(RENDERED_KEPT + 1) {
            state.log[older].rendered = Rendered::default();
        }
        self.latest.send_replace(state.next_seq);
    }

    pub fn get(&self, shipment_id: &str) -> Option<Arc<StatusRecord>> {
        self.state
            .read()
            .shipments
            .get(shipment_id)
            .map(|(_, record)| record.clone())
    }

    /// The JSON answer of `GET /v1/shipments/{id}` for a record of this store, with
    /// `dwellHours` at the pipeline's now.
    pub fn answer(&self, record: &StatusRecord) -> String {
        record.answer(&self.heads.of(record), self.now_millis())
    }

    /// Records of changed snapshot chunks since the last call.
    pub fn take_dirty(&self) -> DirtyRows {
        let mut state = self.state.write();
        let dirty = std::mem::take(&mut state.dirty_chunks);
        let chunks = dirty
            .into_iter()
            .map(|chunk| {
                let end = ((chunk + 1) * CHUNK).min(state.slots.len());
                let rows = state.slots[chunk * CHUNK..end]
                    .iter()
                    .flatten()
                    .cloned()
                    .collect();
                (chunk, rows)
            })
            .collect();
        let alerts = std::mem::take(&mut state.alerts_dirty)
            .then(|| state.alerts.values().cloned().collect());
        DirtyRows { chunks, alerts }
    }

    pub fn counts(&self) -> StoreCounts {
        let state = self.state.read();
        StoreCounts {
            shipments: state.shipments.len(),
            alerts: state.alerts.len(),
            firing: state.alerts.values().filter(|a| a.is_firing()).count(),
            log: state.log.len(),
        }
    }

    /// The current records and the position they reflect, taken together (one consistent
    /// moment): what a [`checkpoint`](crate::checkpoint) keeps.
    pub fn checkpoint_rows(&self) -> (Position, Vec<Arc<StatusRecord>>, Vec<Arc<AlertRecord>>) {
        let state = self.state.read();
        (
            state.position.clone(),
            state.shipments.values().map(|(_, r)| r.clone()).collect(),
            state.alerts.values().cloned().collect(),
        )
    }

    /// Loads a checkpoint into an empty store: its records as if read again, its position as
    /// the store's, and an empty change log that starts there (a reader with an older token
    /// catches up from the records). Returns the records it could not decode (skipped, as a
    /// fresh read would skip them).
    pub fn restore(&self, checkpoint: crate::checkpoint::Checkpoint) -> usize {
        let mut rejected = 0;
        let mut reads = checkpoint
            .statuses
            .into_iter()
            .chain(checkpoint.alerts)
            .map(|(origin, bytes)| Read {
                origin,
                key: None,
                payload: Some(bytes.into()),
                watermark: None,
            });
        // a restore's records were told of before the checkpoint: applied without logging them
        let mut intake = Intake::unlogged();
        loop {
            let batch: Vec<Read> = reads.by_ref().take(RESTORE_BATCH).collect();
            let more_follow = !batch.is_empty();
            rejected += intake.take(self, batch, more_follow).len();
            if !more_follow {
                break;
            }
        }
        let mut state = self.state.write();
        state.position.join(&checkpoint.position);
        state.trimmed = state.position.clone();
        rejected
    }

    /// The position after everything applied so far.
    pub fn position(&self) -> Position {
        self.state.read().position.clone()
    }
}
