//! Which version of an event counts (STATUS.md rule 1): per (`source`, `eventId`) the version with
//! the latest `recordedTime`; on equal times the greater canonical JSON; a retracted winner makes
//! the event absent. Redelivery of the same version changes nothing.

use hashbrown::hash_table::{Entry, HashTable};
use kouan_model::Event;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Whether `candidate` replaces `current` as the counted version.
pub fn supersedes(candidate: &Event, current: &Event) -> bool {
    match candidate.recorded_time().cmp(&current.recorded_time()) {
        Ordering::Greater => true,
        Ordering::Less => false,
        // a redelivery of the same version changes nothing (and is the common tie)
        Ordering::Equal if candidate == current => false,
        // other equal instants: the greater canonical JSON wins
        Ordering::Equal => candidate.canonical_json() > current.canonical_json(),
    }
}

/// What offering a version did.
#[derive(Debug)]
pub enum Offer {
    /// Older or identical: nothing changed.
    Ignored,
    /// The counted version changed from `previous` (absent when there was none or it was
    /// retracted) to `current` (absent when the new winner is a retraction).
    Changed {
        previous: Option<Arc<Event>>,
        current: Option<Arc<Event>>,
        /// The new winner when it is a retraction (held, so that it can be let go of with its
        /// shipment or container).
        retraction: Option<Arc<Event>>,
    },
}

/// The winning version of every event seen, retracted winners included (a later retraction must
/// still beat the versions it voids, whatever order they arrive in).
///
/// A table of the events themselves, found by their (`source`, `eventId`): a map from a 128-bit
/// digest of the identity to the event took 32 bytes a slot (the digest's alignment) and, grown
/// in powers of two, 54 bytes an event held; these slots are 8.
#[derive(Debug, Default)]
pub struct Versions {
    winners: HashTable<Arc<Event>>,
    hasher: foldhash::fast::RandomState,
}

impl Versions {
    fn hash(&self, source: &str, event_id: &str) -> u64 {
        self.hasher.hash_one((source, event_id))
    }

    fn hash_of(&self, event: &Event) -> u64 {
        self.hash(&event.source, &event.event_id)
    }

    fn find(&self, source: &str, event_id: &str) -> Option<&Arc<Event>> {
        self.winners
            .find(self.hash(source, event_id), is(source, event_id))
    }

    pub fn offer(&mut self, event: Event) -> Offer {
        let hash = self.hash_of(&event);
        let entry = self.winners.entry(
            hash,
            is(&event.source, &event.event_id),
            rehash(&self.hasher),
        );
        match entry {
            Entry::Occupied(held) if !supersedes(&event, held.get()) => Offer::Ignored,
            Entry::Occupied(mut held) => {
                let previous = (!held.get().retracted).then(|| held.get().clone());
                let event = Arc::new(event);
                let current = (!event.retracted).then(|| event.clone());
                let retraction = event.retracted.then(|| event.clone());
                *held.get_mut() = event;
                Offer::Changed {
                    previous,
                    current,
                    retraction,
                }
            }
            Entry::Vacant(slot) => {
                let event = Arc::new(event);
                let current = (!event.retracted).then(|| event.clone());
                let retraction = event.retracted.then(|| event.clone());
                slot.insert(event);
                Offer::Changed {
                    previous: None,
                    current,
                    retraction,
                }
            }
        }
    }

    /// Whether offering `event` would change the counted version.
    pub fn is_news(&self, event: &Event) -> bool {
        self.get(event)
            .is_none_or(|current| supersedes(event, current))
    }

    /// The counted version of `event`'s (`source`, `eventId`), retracted or not.
    pub fn get(&self, event: &Event) -> Option<&Arc<Event>> {
        self.find(&event.source, &event.event_id)
    }

    /// The counted version of (`source`, `event_id`), retracted or not.
    pub fn get_identity(&self, source: &str, event_id: &str) -> Option<&Arc<Event>> {
        self.find(source, event_id)
    }

    pub fn len(&self) -> usize {
        self.winners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.winners.is_empty()
    }

    /// Every counted version, retracted ones included, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Event>> {
        self.winners.iter()
    }

    /// Room for `more` versions without growing.
    pub fn reserve(&mut self, more: usize) {
        self.winners.reserve(more, rehash(&self.hasher));
    }

    /// Takes back a counted version as [`Versions::iter`] gave it (a checkpoint's restore).
    pub fn restore(&mut self, event: Arc<Event>) {
        let hash = self.hash_of(&event);
        match self.winners.entry(
            hash,
            is(&event.source, &event.event_id),
            rehash(&self.hasher),
        ) {
            Entry::Occupied(mut held) => *held.get_mut() = event,
            Entry::Vacant(slot) => {
                slot.insert(event);
            }
        }
    }

    /// Forgets the counted version of (`source`, `event_id`) for good (bounded state); see the
    /// engine's retention rule.
    pub fn remove(&mut self, source: &str, event_id: &str) -> Option<Arc<Event>> {
        let hash = self.hash(source, event_id);
        self.winners
            .find_entry(hash, is(source, event_id))
            .ok()
            .map(|held| held.remove().0)
    }
}

/// A held version's hash, as [`Versions::hash`] gives it for its identity (for the table's
/// growth).
fn rehash(hasher: &foldhash::fast::RandomState) -> impl Fn(&Arc<Event>) -> u64 + '_ {
    move |held| hasher.hash_one((&*held.source, held.event_id.as_str()))
}

/// Whether a held version is of the event (`source`, `event_id`).
fn is<'a>(source: &'a str, event_id: &'a str) -> impl Fn(&Arc<Event>) -> bool + 'a {
    move |held| held.event_id == event_id && *held.source == *source
}

/// The batch form of the same rule, for the reference implementation.
pub fn winners(events: &[Event]) -> Vec<&Event> {
    let mut best: HashMap<(&str, &str), &Event> = HashMap::new();
    for event in events {
        let key = (&*event.source, event.event_id.as_str());
        match best.get(&key) {
            Some(current) if !supersedes(event, current) => {}
            _ => {
                best.insert(key, event);
            }
        }
    }
    best.into_values()
        .filter(|event| !event.retracted)
        .collect()
}
