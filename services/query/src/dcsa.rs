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

pub mod cursor;
pub mod filter;
pub mod notify;

pub use notify::{filter_of_body, Recent};

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

    /// The shipments of `entry` the caller sees.
    fn visible<'a>(entry: &'a Entry, caller: &Caller) -> impl Iterator<Item = &'a Member> + 'a {
        let caller = caller.clone();
        entry
            .members
            .iter()
            .filter(move |m| caller.sees(m.shipper.as_deref()))
    }

    fn found(key: &Key, entry: &Entry, caller: &Caller) -> Found {
        let mut bookings: Vec<Arc<str>> = Self::visible(entry, caller)
            .map(|m| m.shipment.clone())
            .collect();
        bookings.sort_unstable();
        bookings.dedup();
        Found {
            key: *key,
            holder: entry.members[0].shipment.clone(),
            bookings,
        }
    }

    /// Whether `key`'s entry passes the filter for the caller (and names `shipment`, when the
    /// filter names one).
    fn passes(&self, key: &Key, filter: &EventFilter, caller: &Caller) -> Option<&Entry> {
        let entry = self.entries.get(key)?;
        let mut seen = Self::visible(entry, caller);
        let visible = match &filter.shipment {
            Some(shipment) => seen.any(|m| *m.shipment == **shipment),
            None => seen.next().is_some(),
        };
        (visible && filter.matches(&entry.facets, key.0)).then_some(entry)
    }

    /// The latest version of the event `event_id` the caller sees.
    pub fn get(&self, event_id: &str, caller: &Caller) -> Option<Found> {
        let keys = self.by_id.get(&uuid_bits(event_id)?)?;
        keys.iter()
            .filter_map(|key| {
                let entry = self.entries.get(key)?;
                Self::visible(entry, caller).next()?;
                Some((key, entry))
            })
            .max_by(|a, b| a.0.cmp(b.0))
            .map(|(key, entry)| Self::found(key, entry, caller))
    }

    /// The events of a key after (or before) `anchor` in `order`, up to `limit`.
    pub fn page(
        &self,
        filter: &EventFilter,
        caller: &Caller,
        order: Order,
        anchor: &Anchor,
        limit: usize,
    ) -> Page {
        // walk the smallest set the filter and the caller allow
        let source = match (
            filter
                .shipment
                .as_ref()
                .map(|s| self.by_shipment.get(s.as_str())),
            filter
                .equipment
                .as_ref()
                .map(|u| self.by_unit.get(u.as_str())),
            caller.shipper().map(|s| self.by_shipper.get(s)),
        ) {
            (Some(run), _, _) | (None, Some(run), _) => Source::Run(run.map(|r| &**r)),
            (None, None, Some(set)) => Source::Set(set),
            (None, None, None) => Source::All(&self.entries),
        };
        // "forward" walks the order asked for; an ascending walk is the keys' own order
        let (forward, from) = match anchor {
            Anchor::After(from) => (true, from.as_ref()),
            Anchor::Before(from) => (false, from.as_ref()),
        };
        let ascending = forward == (order == Order::Ascending);
        // the walk starts past the anchor, within what `eventCreatedDateTime` allows
        let (mut lower, mut upper) = filter.created_bounds();
        let anchor = from.map_or(Bound::Unbounded, |k| Bound::Excluded(*k));
        if ascending {
            lower = tighter(lower, anchor, true);
        } else {
            upper = tighter(upper, anchor, false);
        }
        let walk: Box<dyn Iterator<Item = &Key>> = if is_empty(&lower, &upper) {
            Box::new(std::iter::empty())
        } else if ascending {
            source.range(lower.as_ref(), upper.as_ref())
        } else {
            Box::new(source.range(lower.as_ref(), upper.as_ref()).rev())
        };
        let mut found: Vec<(&Key, &Entry)> = walk
            .filter_map(|key| self.passes(key, filter, caller).map(|e| (key, e)))
            .take(limit + 1)
            .collect();
        let more = found.len() > limit;
        found.truncate(limit);
        if !forward {
            found.reverse();
        }
        let (more_before, more_after) = if forward {
            (from.is_some(), more)
        } else {
            (more, from.is_some())
        };
        Page {
            first: found.first().map(|(k, _)| *(*k)),
            last: found.last().map(|(k, _)| *(*k)),
            events: found
                .iter()
                .map(|(key, entry)| Self::found(key, entry, caller))
                .collect(),
            more_before,
            more_after,
        }
    }

    /// The entry of `key` rendered for `caller`, when it passes `filter` (a subscription's).
    pub fn notification(&self, key: &Key, filter: &EventFilter, caller: &Caller) -> Option<Found> {
        self.passes(key, filter, caller)
            .map(|entry| Self::found(key, entry, caller))
    }
}

/// Whether no key lies between the bounds (a B-tree's range would panic on them).
fn is_empty(lower: &Bound<Key>, upper: &Bound<Key>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            l >= u
        }
        _ => false,
    }
}

/// The events found, as DCSA's JSON, each rendered from the record of a shipment holding it
/// (each record decoded once); an event whose holder changed meanwhile is left out (the walk
/// after it finds its new version).
pub fn render(store: &crate::store::Store, found: &[Found]) -> Vec<serde_json::Value> {
    let mut decoded: HashMap<Arc<str>, Vec<PublishedEvent>> = HashMap::new();
    found
        .iter()
        .filter_map(|found| {
            let events = decoded.entry(found.holder.clone()).or_insert_with(|| {
                store
                    .get(&found.holder)
                    .map(|record| kouan_standards::dcsa::published::events_of(&record.status()))
                    .unwrap_or_default()
            });
            let event = events.iter().find(|e| {
                e.created.unix_millis() == found.key.0
                    && uuid_bits(&e.event_id) == Some(found.key.1)
                    && key_of(e) == found.key
            })?;
            let bookings: Vec<&str> = found.bookings.iter().map(|b| &**b).collect();
            Some(event.to_json(&bookings))
        })
        .collect()
}

/// The tighter of two bounds: the greater lower bound (`lower`), else the smaller upper one.
fn tighter(a: Bound<Key>, b: Bound<Key>, lower: bool) -> Bound<Key> {
    let key = |bound: &Bound<Key>| match bound {
        Bound::Included(k) | Bound::Excluded(k) => Some(*k),
        Bound::Unbounded => None,
    };
    match (key(&a), key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => {
            let a_wins = if x == y {
                matches!(a, Bound::Excluded(_))
            } else {
                (x > y) == lower
            };
            if a_wins {
                a
            } else {
                b
            }
        }
    }
}

/// The keys a page walks.
enum Source<'a> {
    Run(Option<&'a [Key]>),
    Set(Option<&'a BTreeSet<Key>>),
    All(&'a BTreeMap<Key, Entry>),
}

impl<'a> Source<'a> {
    fn range(
        &self,
        from: Bound<&Key>,
        to: Bound<&Key>,
    ) -> Box<dyn DoubleEndedIterator<Item = &'a Key> + 'a> {
        match self {
            Source::Run(Some(run)) => {
                let start = match from {
                    Bound::Included(k) => run.partition_point(|x| x < k),
                    Bound::Excluded(k) => run.partition_point(|x| x <= k),
                    Bound::Unbounded => 0,
                };
                let end = match to {
                    Bound::Included(k) => run.partition_point(|x| x <= k),
                    Bound::Excluded(k) => run.partition_point(|x| x < k),
                    Bound::Unbounded => run.len(),
                };
                Box::new(run[start..end.max(start)].iter())
            }
            Source::Run(None) | Source::Set(None) => Box::new(std::iter::empty()),
            Source::Set(Some(set)) => Box::new(set.range::<Key, _>((from, to))),
            Source::All(entries) => Box::new(entries.range::<Key, _>((from, to)).map(|(k, _)| k)),
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
