//! Which version of an event counts (STATUS.md rule 1): per (`source`, `eventId`) the version with
//! the latest `recordedTime`; on equal times the greater canonical JSON; a retracted winner makes
//! the event absent. Redelivery of the same version changes nothing.

use kouan_model::Event;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// The identity of an event across its versions: a 128-bit digest of (`source`, `eventId`),
/// so that the hot path neither clones nor hashes two strings per event. Two identities would
/// have to collide in 128 bits to be confused (for 10^9 events, odds below 10^-20).
pub type EventKey = u128;

pub fn key_of(event: &Event) -> EventKey {
    identity_key(&event.source, &event.event_id)
}

/// [`key_of`] from the identity alone.
pub fn identity_key(source: &str, event_id: &str) -> EventKey {
    let digest = |basis: u64| {
        let mix = |state: u64, bytes: &[u8]| {
            bytes.iter().fold(state, |state, byte| {
                (state ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
            })
        };
        // the length prefix keeps ("ab", "c") apart from ("a", "bc")
        let state = mix(basis, &(source.len() as u64).to_le_bytes());
        let state = mix(state, source.as_bytes());
        mix(state, event_id.as_bytes())
    };
    (u128::from(digest(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(digest(0x8422_2325_cbf2_9ce4))
}

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
    },
}

/// The winning version of every event seen, retracted winners included (a later retraction must
/// still beat the versions it voids, whatever order they arrive in).
#[derive(Debug, Default)]
pub struct Versions {
    winners: crate::engine::HashMap<EventKey, Arc<Event>>,
}

impl Versions {
    pub fn offer(&mut self, event: Event) -> Offer {
        let key = key_of(&event);
        match self.winners.get(&key) {
            Some(current) if !supersedes(&event, current) => Offer::Ignored,
            Some(current) => {
                let previous = (!current.retracted).then(|| current.clone());
                let event = Arc::new(event);
                let current = (!event.retracted).then(|| event.clone());
                self.winners.insert(key, event);
                Offer::Changed { previous, current }
            }
            None => {
                let event = Arc::new(event);
                let current = (!event.retracted).then(|| event.clone());
                self.winners.insert(key, event);
                if current.is_none() {
                    return Offer::Changed {
                        previous: None,
                        current: None,
                    };
                }
                Offer::Changed {
                    previous: None,
                    current,
                }
            }
        }
    }

    /// Whether offering `event` would change the counted version.
    pub fn is_news(&self, event: &Event) -> bool {
        self.winners
            .get(&key_of(event))
            .is_none_or(|current| supersedes(event, current))
    }

    /// The counted version under `key`, retracted or not.
    pub fn get(&self, key: &EventKey) -> Option<&Arc<Event>> {
        self.winners.get(key)
    }

    pub fn len(&self) -> usize {
        self.winners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.winners.is_empty()
    }

    /// Every counted version, retracted ones included, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Event>> {
        self.winners.values()
    }

    /// Room for `more` versions without growing.
    pub fn reserve(&mut self, more: usize) {
        self.winners.reserve(more);
    }

    /// Takes back a counted version as [`Versions::iter`] gave it (a checkpoint's restore).
    pub fn restore(&mut self, event: Arc<Event>) {
        self.winners.insert(key_of(&event), event);
    }

    /// Forgets events for good (bounded state); see the engine's retention rule.
    pub fn remove(&mut self, key: &EventKey) {
        self.winners.remove(key);
    }
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
