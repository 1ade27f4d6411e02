//! The DCSA events of every shipment in the store, in `eventCreatedDateTime` order: what
//! `/dcsa/tnt/v2/events` pages through and DCSA subscriptions are told of.
//!
//! An event belongs to every shipment whose milestones hold it (a train's departure to every
//! shipment on it; a container's gate-out only to the shipment it carried then), so one caller
//! sees an event when one of its shipments holds it, and its `documentReferences` name only the
//! caller's bookings. Each version of an event is its own entry: a later version replaces an
//! earlier in a shipment when that shipment's record is republished.
//!
//! The index keeps of each event only what the filters read ([`Facets`]) and the shipments
//! holding it; an answer renders its events from a holding shipment's record (which the store
//! keeps anyway), so a million events cost their keys and facets, not a second copy.
//!
//! - [`filter`]: the query parameters and subscription filters, and matching.
//! - [`cursor`]: pages: keyset anchors in the sort order, and the cursors that carry them.
//! - [`notify`]: what a DCSA subscription is sent.
//! - `read`: finding events — one by id, a page, a notification — and rendering them.

pub mod cursor;
pub mod filter;
pub mod notify;
mod read;

pub use notify::{filter_of_body, Recent};
pub use read::render;

use crate::auth::Caller;
use cursor::{Anchor, Order};
use filter::EventFilter;
use kouan_model::{fnv1a_extend, FNV1A_START};
use kouan_standards::dcsa::published::{PublishedBody, PublishedEvent};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

/// An entry's place in the order: `eventCreatedDateTime` (Unix milliseconds), `eventID`, and a
/// fingerprint of the version (two versions of one event are two entries).
pub type Key = (i64, u128, u64);

/// A UUID's 128 bits (its hex digits without the dashes); `None` for anything else.
pub fn uuid_bits(text: &str) -> Option<u128> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    (text.len() == 36 && hex.len() == 32)
        .then(|| u128::from_str_radix(&hex, 16).ok())
        .flatten()
}

struct Entry {
    facets: Facets,
    members: Vec<Member>,
}

/// What the filters read of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Facets {
    pub event_type: &'static str,
    /// Its shipment, transport or equipment event type code.
    pub code: &'static str,
    pub document_type: Option<&'static str>,
    pub unit: Option<Arc<str>>,
    /// The transport call: its id (16 hex digits) and voyage.
    pub call: Option<(u64, Arc<str>)>,
    /// Equipment and transport events: the UN/LOCODE.
    pub place: Option<Arc<str>>,
}

impl Facets {
    fn of(event: &PublishedEvent) -> Self {
        let call = event.call().map(|c| {
            let id = u64::from_str_radix(&c.id, 16).expect("a transport call id is hex");
            (id, Arc::from(c.voyage.as_str()))
        });
        let (code, document_type, unit) = match &event.body {
            PublishedBody::Shipment {
                code,
                document_type,
                ..
            } => (*code, Some(*document_type), None),
            PublishedBody::Transport { code, .. } => (*code, None, None),
            PublishedBody::Equipment { code, unit, .. } => {
                (*code, None, Some(Arc::from(unit.as_str())))
            }
        };
        Facets {
            event_type: event.event_type(),
            code,
            document_type,
            unit,
            call,
            place: (document_type.is_none())
                .then(|| {
                    event
                        .location
                        .as_ref()
                        .map(|l| Arc::from(l.unlocode.as_str()))
                })
                .flatten(),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
struct Member {
    shipment: Arc<str>,
    shipper: Option<Arc<str>>,
}

/// A shipment's events, prepared off the store's lock (see
/// [`crate::record::DecodedStatus`]).
#[derive(Debug, Default)]
pub struct ShipmentEvents {
    pub events: Vec<(Key, Facets)>,
}

impl ShipmentEvents {
    pub fn of(status: &kouan_model::Status) -> Self {
        let events = kouan_standards::dcsa::published::events_of(status)
            .into_iter()
            .map(|event| (key_of(&event), Facets::of(&event)))
            .collect();
        ShipmentEvents { events }
    }
}

pub fn key_of(event: &PublishedEvent) -> Key {
    // every field the answer shows, so that two versions of an event never share a key
    let text = format!("{event:?}");
    let fingerprint = fnv1a_extend(FNV1A_START, text.as_bytes());
    (
        event.created.unix_millis(),
        uuid_bits(&event.event_id).expect("a DCSA eventID is a UUID"),
        fingerprint,
    )
}

/// One page of an answer, in the order asked for: each event's key, a shipment holding it
/// (to render it from) and the bookings the caller may see it under.
pub struct Page {
    pub events: Vec<Found>,
    pub first: Option<Key>,
    pub last: Option<Key>,
    /// Whether events lie before the first and after the last (in the order asked for).
    pub more_before: bool,
    pub more_after: bool,
}

/// An event an answer names.
pub struct Found {
    pub key: Key,
    pub holder: Arc<str>,
    pub bookings: Vec<Arc<str>>,
}

#[derive(Default)]
pub struct DcsaIndex {
    entries: BTreeMap<Key, Entry>,
    by_id: HashMap<u128, Vec<Key>>,
    /// One copy of each unit, voyage and place the facets name.
    texts: std::collections::HashSet<Arc<str>>,
    by_shipper: HashMap<Arc<str>, BTreeSet<Key>>,
    /// A shipment's and a unit's events are few: sorted runs, not trees.
    by_shipment: HashMap<Arc<str>, Box<[Key]>>,
    by_unit: HashMap<Arc<str>, Box<[Key]>>,
}

impl DcsaIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets the events of `shipment` (its latest record's); returns the keys it did not hold
    /// before (what subscriptions are told of).
    pub fn replace(
        &mut self,
        shipment: &Arc<str>,
        shipper: Option<Arc<str>>,
        events: ShipmentEvents,
    ) -> Vec<Key> {
        let member = Member {
            shipment: shipment.clone(),
            shipper,
        };
        let old = self.by_shipment.remove(shipment).unwrap_or_default();
        let mut new: Vec<Key> = events.events.iter().map(|(k, _)| *k).collect();
        new.sort_unstable();
        new.dedup();
        for key in old.iter().filter(|k| new.binary_search(k).is_err()) {
            self.leave(key, shipment);
        }
        let mut added = Vec::new();
        for (key, mut facets) in events.events {
            let mut intern = |text: &mut Arc<str>| match self.texts.get(&**text) {
                Some(known) => *text = known.clone(),
                None => {
                    self.texts.insert(text.clone());
                }
            };
            for text in [facets.unit.as_mut(), facets.place.as_mut()]
                .into_iter()
                .flatten()
            {
                intern(text);
            }
            if let Some((_, voyage)) = facets.call.as_mut() {
                intern(voyage);
            }
            let held = old.binary_search(&key).is_ok();
            if !self.entries.contains_key(&key) {
                self.by_id.entry(key.1).or_default().push(key);
                if let Some(unit) = &facets.unit {
                    let run = self.by_unit.entry(unit.clone()).or_default();
                    let mut keys = std::mem::take(run).into_vec();
                    if let Err(at) = keys.binary_search(&key) {
                        keys.insert(at, key);
                    }
                    *run = keys.into_boxed_slice();
                }
                self.entries.insert(
                    key,
                    Entry {
                        facets,
                        members: Vec::new(),
                    },
                );
            }
            let entry = self.entries.get_mut(&key).expect("just inserted");
            if held {
                // the shipper of a held event may have changed with the booking
                if let Some(m) = entry.members.iter_mut().find(|m| m.shipment == *shipment) {
                    if m.shipper != member.shipper {
                        let previous = std::mem::replace(m, member.clone());
                        let still = entry.members.iter().any(|m| m.shipper == previous.shipper);
                        if let (Some(shipper), false) = (previous.shipper, still) {
                            remove_from(&mut self.by_shipper, &shipper, &key);
                        }
                    }
                }
            } else {
                entry.members.push(member.clone());
                added.push(key);
            }
            if let Some(shipper) = &member.shipper {
                self.by_shipper
                    .entry(shipper.clone())
                    .or_default()
                    .insert(key);
            }
        }
        if !new.is_empty() {
            self.by_shipment
                .insert(shipment.clone(), new.into_boxed_slice());
        }
        added
    }

    /// The shipment left the store (a tombstone).
    pub fn remove(&mut self, shipment: &str) {
        if let Some(keys) = self.by_shipment.remove(shipment) {
            for key in &keys {
                self.leave(key, shipment);
            }
        }
    }

    fn leave(&mut self, key: &Key, shipment: &str) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let Some(at) = entry.members.iter().position(|m| &*m.shipment == shipment) else {
            return;
        };
        let gone = entry.members.swap_remove(at);
        if let Some(shipper) = gone.shipper {
            if !entry
                .members
                .iter()
                .any(|m| m.shipper.as_ref() == Some(&shipper))
            {
                remove_from(&mut self.by_shipper, &shipper, key);
            }
        }
        if !entry.members.is_empty() {
            return;
        }
        let entry = self.entries.remove(key).expect("present");
        if let Some(keys) = self.by_id.get_mut(&key.1) {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.by_id.remove(&key.1);
            }
        }
        if let Some(unit) = &entry.facets.unit {
            if let Some(run) = self.by_unit.get_mut(&**unit) {
                let mut keys = std::mem::take(run).into_vec();
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    self.by_unit.remove(&**unit);
                } else {
                    *run = keys.into_boxed_slice();
                }
            }
        }
    }
}

fn remove_from(index: &mut HashMap<Arc<str>, BTreeSet<Key>>, name: &str, key: &Key) {
    if let Some(set) = index.get_mut(name) {
        set.remove(key);
        if set.is_empty() {
            index.remove(name);
        }
    }
}
