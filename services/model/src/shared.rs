//! One copy of each place and source: a hub and its corridors have some thousands of facilities
//! and tens of sources, while a processor holds hundreds of thousands of events, which before each
//! carried their own copies (72 bytes and two or three strings an event). Never shrinks, being
//! bounded by the network, not by the traffic.
//!
//! [`crate::protobuf::decode_event_shared`] looks a record's place and source up here while it
//! still borrows them from the record, so that decoding one allocates neither.

use crate::event::{Event, Location};
use crate::event_view::LocationView;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Shared {
    places: HashTable<Arc<Location>>,
    sources: HashTable<Arc<str>>,
    hasher: foldhash::fast::RandomState,
}

impl Shared {
    fn place_hash(&self, view: &LocationView<'_>) -> u64 {
        self.hasher
            .hash_one((view.unlocode, view.facility, view.name))
    }

    /// The held copy of the place `view` reads (made on first sight).
    pub fn place(&mut self, view: &LocationView<'_>) -> Arc<Location> {
        let hash = self.place_hash(view);
        if let Some(held) = self.places.find(hash, |held| view.is(held)) {
            return held.clone();
        }
        let place = Arc::new(view.to_location());
        self.insert_place(hash, place.clone());
        place
    }

    fn insert_place(&mut self, hash: u64, place: Arc<Location>) {
        let hasher = self.hasher.clone();
        self.places.insert_unique(hash, place, move |held| {
            hasher.hash_one((
                held.unlocode.as_str(),
                held.facility.as_deref(),
                held.name.as_deref(),
            ))
        });
    }

    /// The held copy of the source `text` (made on first sight).
    pub fn source(&mut self, text: &str) -> Arc<str> {
        let hash = self.hasher.hash_one(text);
        if let Some(held) = self.sources.find(hash, |held| &**held == text) {
            return held.clone();
        }
        let source: Arc<str> = text.into();
        let hasher = self.hasher.clone();
        self.sources
            .insert_unique(hash, source.clone(), move |held| hasher.hash_one(&**held));
        source
    }

    /// Makes `event` name the held copies of its place and source.
    pub fn share(&mut self, event: &mut Event) {
        if let Some(location) = &mut event.location {
            let view = LocationView {
                unlocode: &location.unlocode,
                facility: location.facility.as_deref(),
                name: location.name.as_deref(),
            };
            let hash = self.place_hash(&view);
            match self.places.find(hash, |held| view.is(held)) {
                Some(held) => *location = held.clone(),
                None => self.insert_place(hash, location.clone()),
            }
        }
        event.source = self.source(&event.source);
    }

    /// Places held.
    pub fn places(&self) -> usize {
        self.places.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_of_each_place_and_source() {
        let mut shared = Shared::default();
        let cgo = LocationView {
            unlocode: "CNCGO",
            facility: Some("CGO-NCT"),
            name: None,
        };
        let a = shared.place(&cgo);
        let b = shared.place(&cgo);
        assert!(Arc::ptr_eq(&a, &b));
        let bare = shared.place(&LocationView {
            unlocode: "CNCGO",
            facility: None,
            name: None,
        });
        assert!(!Arc::ptr_eq(&a, &bare));
        assert_eq!(shared.places(), 2);
        assert!(Arc::ptr_eq(&shared.source("cgo"), &shared.source("cgo")));
    }
}
