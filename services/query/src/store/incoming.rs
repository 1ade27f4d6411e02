//! Records read from the topics on their way into the store: a batch is decoded on every core
//! before the store's lock is taken, then applied in the order read, and while a replay
//! delivers full batches the next one is decoded while the last is applied ([`Intake`]).
//! Decoding (protobuf, validation, the facts the indexes read) is most of a rebuild's work and
//! needs nothing of the store, so the one writer thread no longer does it alone.

use super::{Logged, Store};
use crate::error::QueryError;
use crate::record::{AlertRecord, DecodedStatus, Origin, TopicId};
use rayon::prelude::*;

/// Below this many records a batch is decoded on the caller's thread: a live pipeline's
/// batches are small and a thread costs more than they do.
const PARALLEL_FROM: usize = 256;

/// One record as read from `kouan.status` or `kouan.alerts`.
#[derive(Debug)]
pub struct Read {
    pub origin: Origin,
    pub key: Option<Box<[u8]>>,
    /// `None`: a tombstone.
    pub payload: Option<Box<[u8]>>,
    /// The processor's watermark a status record carried (its header), for the store's clock.
    pub watermark: Option<i64>,
}

/// A record decoded, ready for [`Store::apply`](super::Store::apply).
#[derive(Debug)]
pub struct Decoded {
    pub origin: Origin,
    pub(super) watermark: Option<i64>,
    pub(super) kind: DecodedKind,
}

#[derive(Debug)]
pub(super) enum DecodedKind {
    Status(Result<DecodedStatus, QueryError>),
    /// A tombstone on `kouan.status`, with the key it removes.
    Removed(Option<Box<[u8]>>),
    Alert(Result<AlertRecord, QueryError>),
    /// A tombstone on `kouan.alerts` (alerts are never removed): nothing to do.
    Nothing,
}

fn decode(read: Read) -> Decoded {
    let kind = match (read.origin.topic, read.payload) {
        (TopicId::Status, Some(payload)) => {
            DecodedKind::Status(DecodedStatus::decode(payload, read.origin))
        }
        (TopicId::Status, None) => DecodedKind::Removed(read.key),
        (TopicId::Alerts, Some(payload)) => {
            DecodedKind::Alert(AlertRecord::decode(&payload, read.origin))
        }
        (TopicId::Alerts, None) => DecodedKind::Nothing,
    };
    Decoded {
        origin: read.origin,
        watermark: read.watermark,
        kind,
    }
}

/// Decodes `reads`, in their order, on every core when there are enough of them (rayon's
/// pool: its threads, and the allocator's heaps of each, live as long as the process; a thread
/// spawned per batch cost the kernel zeroing fresh pages for every one).
pub fn decode_batch(reads: Vec<Read>) -> Vec<Decoded> {
    if reads.len() < PARALLEL_FROM {
        return reads.into_iter().map(decode).collect();
    }
    reads.into_par_iter().map(decode).collect()
}

/// Batches on their way into a store: each is decoded on every core while the batch before it
/// is applied, so a replay keeps both cores busy (decoding alone, then applying alone, left one
/// idle half the time). Only a full batch — the topics have more — is held back for the next
/// call; a live pipeline's batches are applied at once, adding no delay.
#[derive(Debug)]
pub struct Intake {
    held: Vec<Decoded>,
    /// Whether what it applies is told to feeds and webhooks (not for a restore's records).
    logged: Logged,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            held: Vec::new(),
            logged: Logged::Yes,
        }
    }
}

impl Intake {
    /// An intake whose records are applied without entering the change log.
    pub(super) fn unlogged() -> Self {
        Intake {
            held: Vec::new(),
            logged: Logged::No,
        }
    }

    /// Decodes `reads` while the batch held back is applied; then applies them too unless
    /// `more_follow`. Returns the records that did not decode, with why.
    pub fn take(
        &mut self,
        store: &Store,
        reads: Vec<Read>,
        more_follow: bool,
    ) -> Vec<(Origin, QueryError)> {
        let held = std::mem::take(&mut self.held);
        let (decoded, mut rejected) = rayon::join(
            || decode_batch(reads),
            || store.apply_all(held, self.logged),
        );
        if more_follow {
            self.held = decoded;
        } else {
            rejected.extend(store.apply_all(decoded, self.logged));
        }
        rejected
    }

    /// Applies the batch held back, if any.
    pub fn flush(&mut self, store: &Store) -> Vec<(Origin, QueryError)> {
        store.apply_all(std::mem::take(&mut self.held), self.logged)
    }
}
