//! The change log the feeds and webhooks read: every applied record in order, a bounded window
//! of it kept, and cursors that resume after any token (catching up from the current records
//! when the window has moved past them).

use super::{State, Store};
use crate::auth::Caller;
use crate::position::Position;
use crate::record::{AlertRecord, Origin, StatusRecord};
use std::sync::{Arc, OnceLock};

/// What changed, as the feed and webhooks tell it.
#[derive(Debug, Clone)]
pub enum ChangeKind {
    Status(Arc<StatusRecord>),
    /// The shipment no longer has a status (a tombstone on `kouan.status`); carries the last
    /// record so visibility can still be decided.
    Removed(Arc<StatusRecord>),
    Alert(Arc<AlertRecord>),
}

impl ChangeKind {
    /// The shipper whose shipment this is about, for visibility.
    pub fn shipper(&self) -> Option<&str> {
        match self {
            ChangeKind::Status(record) | ChangeKind::Removed(record) => record.shipper.as_deref(),
            ChangeKind::Alert(alert) => alert.shipper.as_deref(),
        }
    }

    pub fn shipment_id(&self) -> &str {
        match self {
            ChangeKind::Status(record) | ChangeKind::Removed(record) => &record.shipment_id,
            ChangeKind::Alert(alert) => &alert.shipment_id,
        }
    }
}

#[derive(Debug)]
pub(super) struct Change {
    pub(super) seq: u64,
    pub(super) origin: Origin,
    pub(super) kind: ChangeKind,
    /// The store's position right after this change.
    pub(super) position: Position,
    pub(super) rendered: Rendered,
    /// A status change: the DCSA events it added to its shipment.
    pub(super) dcsa_added: Option<Arc<[crate::dcsa::Key]>>,
}

/// A status change's JSON head ([`StatusRecord::json_head`]), rendered by the first reader that
/// needs it and shared with the others; none kept (each reader renders its own) for a change
/// far from the log's live end or handed out by a catch-up.
#[derive(Debug, Clone, Default)]
pub(super) struct Rendered(Option<Arc<OnceLock<Box<str>>>>);

impl Rendered {
    /// A place for the head, to be filled by the first reader.
    pub(super) fn shared() -> Self {
        Rendered(Some(Arc::default()))
    }
}

/// A change handed to a reader, with the token that resumes right after it.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: ChangeKind,
    pub token: String,
    rendered: Rendered,
    /// A status change: the DCSA events it added to its shipment; `None` when not known (a
    /// catch-up from the current records).
    pub dcsa_added: Option<Arc<[crate::dcsa::Key]>>,
}

impl Item {
    /// The JSON answer of a status change with `dwellHours` at `now` (`None` for other kinds).
    pub fn status_json(&self, now_millis: i64) -> Option<String> {
        match &self.kind {
            ChangeKind::Status(record) => Some(match &self.rendered.0 {
                Some(shared) => {
                    record.answer(shared.get_or_init(|| record.json_head()), now_millis)
                }
                None => record.answer(&record.json_head(), now_millis),
            }),
            _ => None,
        }
    }
}

impl State {
    /// [`Store::visible`] under a lock already held.
    pub(super) fn visible(&self, caller: &Caller, kind: &ChangeKind) -> bool {
        match kind {
            _ if caller.is_operator() => true,
            ChangeKind::Alert(alert) => self.alert_visible(caller, alert),
            other => caller.sees(other.shipper()),
        }
    }
}

/// A reader's place in the change stream: what it has seen (`seen`) and where it is in this
/// store's log. Built by [`Store::cursor`], advanced by [`Store::next_batch`].
#[derive(Debug, Clone)]
pub struct Cursor {
    seen: Position,
    next_seq: u64,
    /// The next batch must first catch up from the current state (resume or gap).
    fill: bool,
}

impl Cursor {
    pub fn token(&self) -> String {
        self.seen.encode()
    }
}

/// What [`Store::next_batch`] found: the changes the caller may see, and whether the reader is
/// now at the live end.
#[derive(Debug)]
pub struct Batch {
    pub items: Vec<Item>,
    pub at_end: bool,
}

impl Store {
    /// Whether `caller` may see this change now: a shipment's visibility follows its current
    /// record, so a shipment moved to another shipper stops showing to the first.
    pub fn visible(&self, caller: &Caller, kind: &ChangeKind) -> bool {
        caller.is_operator() || self.state.read().visible(caller, kind)
    }

    /// A cursor at the live end (`from: None`) or resuming after a token.
    pub fn cursor(&self, from: Option<Position>) -> Cursor {
        let state = self.state.read();
        match from {
            None => Cursor {
                seen: state.position.clone(),
                next_seq: state.next_seq,
                fill: false,
            },
            Some(seen) => Cursor {
                seen,
                next_seq: 0,
                fill: true,
            },
        }
    }

    /// The changes after the cursor that `caller` may see, oldest first, looking at about `max`
    /// changes (visible or not: the work under the store's lock is bounded whoever asks), and
    /// moves the cursor past all it looked at. A change the caller may not see costs a
    /// visibility check and nothing else — no token is written for it.
    pub fn next_batch(&self, cursor: &mut Cursor, max: usize, caller: &Caller) -> Batch {
        let state = self.state.read();
        let first_seq = state.log.front().map_or(state.next_seq, |c| c.seq);
        if cursor.next_seq < first_seq {
            // behind the log's start: catch up from the current records
            cursor.fill = true;
        }
        let mut items = Vec::new();
        if cursor.fill {
            cursor.fill = false;
            items = state.fill(&mut cursor.seen, caller);
            cursor.next_seq = first_seq;
        }
        let start = (cursor.next_seq - first_seq) as usize;
        for (looked, change) in state.log.range(start.min(state.log.len())..).enumerate() {
            if looked >= max {
                return Batch {
                    items,
                    at_end: false,
                };
            }
            cursor.next_seq = change.seq + 1;
            if !cursor.seen.unseen(&change.origin) {
                continue;
            }
            cursor.seen.join(&change.position);
            if state.visible(caller, &change.kind) {
                items.push(Item {
                    kind: change.kind.clone(),
                    token: cursor.seen.encode(),
                    rendered: change.rendered.clone(),
                    dcsa_added: change.dcsa_added.clone(),
                });
            }
        }
        Batch {
            items,
            at_end: true,
        }
    }
}

impl State {
    /// Catch-up for a reader whose unseen records fell off the log: the current record of
    /// every shipment and alert it has not seen below the log's start, in (topic, partition,
    /// offset) order, each with a token that resumes right after it. `seen` ends at the log's
    /// start (or further, where the reader already was).
    /// Only what `caller` may see is handed back: the token of each covers what it skipped.
    pub(super) fn fill(&self, seen: &mut Position, caller: &Caller) -> Vec<Item> {
        let below_log = |origin: &Origin| seen.unseen(origin) && !self.trimmed.unseen(origin);
        let mut missing: Vec<(Origin, ChangeKind)> = self
            .shipments
            .values()
            .filter(|(_, record)| below_log(&record.origin))
            .map(|(_, record)| (record.origin, ChangeKind::Status(record.clone())))
            .chain(
                self.alerts
                    .values()
                    .filter(|alert| below_log(&alert.origin))
                    .map(|alert| (alert.origin, ChangeKind::Alert(alert.clone()))),
            )
            .filter(|(_, kind)| self.visible(caller, kind))
            .collect();
        missing.sort_by_key(|(origin, _)| *origin);
        let target = {
            let mut target = seen.clone();
            target.join(&self.trimmed);
            target
        };
        let mut items = Vec::with_capacity(missing.len());
        for (origin, kind) in missing {
            // partitions before this one are complete; this one up to the record
            seen.join_before(&target, &origin);
            seen.advance(&origin);
            items.push(Item {
                kind,
                token: seen.encode(),
                rendered: Rendered::default(),
                dcsa_added: None,
            });
        }
        *seen = target;
        items
    }
}
