//! The container events an instance does not need now, kept on local disk instead of in memory.
//!
//! Every instance reads the whole shared table, but a shipment stage derives only the shipments
//! of the partitions the group gave it, and a container's history before the windows of those
//! shipments cannot change them (see [`crate::engine::Engine::spill_unneeded`] for the rule). Such
//! an event is written here, in its protobuf form, and the engine keeps some 70–80 bytes for it —
//! its identity's 128-bit digest, its time and two flags in its unit's list (32 bytes), and where
//! it lies in the file in a table (a 32-byte slot and the table's spare room) — instead of ~350; an event
//! is read back when a window reaches it again (a late booking, a partition gained). Kafka
//! Streams keeps a global table in RocksDB on local disk for the same reason.
//!
//! The file is a [`ScratchFile`]: scratch, not state of record; every tenure starts a new one,
//! and what it holds is in the shared table and in the local checkpoint
//! ([`crate::engine::Engine::state`] reads it back for that).

use crate::scratch::{Extent, ScratchFile};
use kouan_model::{protobuf, Body, Event};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;

/// The digest the spill knows an event by: 128 bits of (`source`, `eventId`), so that two
/// identities never meet in practice (at a million spilled events the chance is ~10⁻²⁷).
pub type Identity = u128;

pub fn identity(source: &str, event_id: &str) -> Identity {
    let low =
        foldhash::quality::FixedState::with_seed(0x6b6f_7561_6e31).hash_one((source, event_id));
    let high =
        foldhash::quality::FixedState::with_seed(0x6b6f_7561_6e32).hash_one((source, event_id));
    (u128::from(high) << 64) | u128::from(low)
}

/// One spilled event as its unit's list holds it: enough to choose what to read back.
#[derive(Debug, Clone, Copy)]
pub struct Spilled {
    pub identity: Identity,
    /// Its event time, Unix ms.
    pub millis: i64,
    /// An actual LOAD: the windows' lower bound is the latest of these.
    pub actual_load: bool,
    /// An actual LOAD or DISC onto or off a conveyance: what rule 4 reads before a window.
    pub actual_move: bool,
}

#[derive(Debug)]
pub struct Spill {
    file: ScratchFile,
    places: HashMap<Identity, Extent, foldhash::fast::RandomState>,
    units: HashMap<String, Vec<Spilled>, foldhash::fast::RandomState>,
}

impl Default for Spill {
    fn default() -> Self {
        Spill::in_dir(std::env::temp_dir())
    }
}

impl Spill {
    /// The bytes its scratch file holds on disk (what the state directory holds for it).
    pub fn bytes_on_disk(&self) -> u64 {
        self.file.written()
    }

    /// A spill whose file will be made in `dir` (when the first event is spilled).
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        Spill {
            file: ScratchFile::in_dir(dir, "spill"),
            places: HashMap::default(),
            units: HashMap::default(),
        }
    }

    /// Events spilled.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The spilled events of `unit`, in no particular order.
    pub fn of_unit(&self, unit: &str) -> &[Spilled] {
        self.units.get(unit).map_or(&[], Vec::as_slice)
    }

    /// Writes `event` (an equipment event of `unit`) to disk. On an error nothing is spilled and
    /// the caller keeps the event in memory.
    pub fn put(
        &mut self,
        unit: &str,
        event: &Event,
        actual_load: bool,
        actual_move: bool,
    ) -> std::io::Result<()> {
        let place = self.file.append(&protobuf::encode_event(event))?;
        let identity = identity(&event.source, &event.event_id);
        if let Some(old) = self.places.insert(identity, place) {
            self.file.free(old);
        }
        let spilled = Spilled {
            identity,
            millis: event.event_time.unix_millis(),
            actual_load,
            actual_move,
        };
        match self.units.get_mut(unit) {
            Some(list) => {
                list.retain(|held| held.identity != identity);
                list.push(spilled);
            }
            None => {
                self.units.insert(unit.to_string(), vec![spilled]);
            }
        }
        Ok(())
    }

    fn read(&self, place: Extent) -> Event {
        protobuf::decode_event(&self.file.read(place)).expect("the spill file holds valid events")
    }

    /// The spilled version of (`source`, `event_id`), read back; it stays spilled.
    pub fn get(&self, source: &str, event_id: &str) -> Option<Event> {
        self.places
            .get(&identity(source, event_id))
            .map(|place| self.read(*place))
    }

    /// Takes (`source`, `event_id`) out of the spill, returning it.
    pub fn take(&mut self, source: &str, event_id: &str) -> Option<Event> {
        let event = self.get(source, event_id)?;
        self.drop_event(&event);
        Some(event)
    }

    /// Lets go of the spilled `event` (as [`Spill::get`] read it), without reading it again.
    pub fn drop_event(&mut self, event: &Event) {
        let identity = identity(&event.source, &event.event_id);
        let Some(place) = self.places.remove(&identity) else {
            return;
        };
        self.file.free(place);
        if let Body::Equipment(body) = &event.body {
            let unit = body.equipment_reference.as_str();
            if let Some(list) = self.units.get_mut(unit) {
                list.retain(|held| held.identity != identity);
                if list.is_empty() {
                    self.units.remove(unit);
                }
            }
        }
        self.compact_if_worth_it();
    }

    /// Every spilled event of `unit`, read back (they stay spilled).
    pub fn read_unit(&self, unit: &str) -> Vec<Event> {
        (self.of_unit(unit).iter())
            .filter_map(|held| self.places.get(&held.identity))
            .map(|place| self.read(*place))
            .collect()
    }

    /// Takes out every spilled event of `unit` at or after `from_millis`.
    pub fn take_unit_from(&mut self, unit: &str, from_millis: i64) -> Vec<Event> {
        self.take_unit_where(unit, |held| held.millis >= from_millis)
    }

    /// Takes out (to let go of) every spilled event of `unit` before `before_millis`.
    pub fn take_unit_before(&mut self, unit: &str, before_millis: i64) -> Vec<Event> {
        self.take_unit_where(unit, |held| held.millis < before_millis)
    }

    /// Takes out every spilled event of `unit` that `taken` picks.
    pub fn take_unit_where(&mut self, unit: &str, taken: impl Fn(&Spilled) -> bool) -> Vec<Event> {
        let Some(list) = self.units.get_mut(unit) else {
            return Vec::new();
        };
        if !list.iter().any(&taken) {
            return Vec::new();
        }
        let (taken, kept): (Vec<Spilled>, Vec<Spilled>) = list.iter().partition(|held| taken(held));
        if kept.is_empty() {
            self.units.remove(unit);
        } else {
            *list = kept;
        }
        let mut events = Vec::with_capacity(taken.len());
        for held in taken {
            if let Some(place) = self.places.remove(&held.identity) {
                self.file.free(place);
                events.push(self.read(place));
            }
        }
        self.compact_if_worth_it();
        events
    }

    /// The units with spilled events.
    pub fn units(&self) -> impl Iterator<Item = &String> {
        self.units.keys()
    }

    /// Every spilled event, read back (for a checkpoint); they stay spilled.
    pub fn read_all(&self) -> Vec<Event> {
        self.places
            .values()
            .map(|place| self.read(*place))
            .collect()
    }

    fn compact_if_worth_it(&mut self) {
        if self.file.worth_compacting() {
            self.file.compact(self.places.values_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(serial: usize) -> String {
        kouan_model::ids::make_container_number("MSC", 'U', serial as u32)
    }

    fn container_event(id: usize, hour: i64) -> Event {
        kouan_model::ndjson::decode_line(
            format!(
                r#"{{"eventId":"e-{id}","source":"zz-yard","eventTime":"2026-11-01T{hour:02}:00:00+08:00","location":{{"unlocode":"CNZZU"}},"equipment":{{"type":"GTIN","equipmentReference":"{}","emptyIndicator":"LADEN"}}}}"#,
                unit(id % 3)
            )
            .as_bytes(),
        )
        .expect("a valid event")
    }

    /// What is spilled reads back as it was, by identity or by unit and time, and stays
    /// readable when the file is compacted under it.
    #[test]
    fn spilled_events_read_back_whole_across_compaction() {
        let dir = std::env::temp_dir();
        let mut spill = Spill::in_dir(&dir);
        spill.file.compact_above(1_000);
        let events: Vec<Event> = (0..300)
            .map(|i| container_event(i, (i % 24) as i64))
            .collect();
        for event in &events {
            let Body::Equipment(body) = &event.body else {
                unreachable!()
            };
            spill
                .put(&body.equipment_reference, event, false, false)
                .unwrap();
        }
        assert_eq!(spill.len(), 300);
        let written = spill.file.written();
        assert_eq!(spill.get("zz-yard", "e-7"), Some(events[7].clone()));
        // take most of them out: the dead bytes outweigh the live ones, the file is rewritten
        for event in &events[..200] {
            assert_eq!(
                spill.take(&event.source, &event.event_id).as_ref(),
                Some(event)
            );
        }
        let (end, garbage) = (spill.file.written(), spill.file.garbage());
        assert!(
            end < written / 2 && garbage < end - garbage,
            "compacted: {garbage} of {end} bytes dead ({written} written)"
        );
        assert_eq!(spill.len(), 100);
        assert_eq!(spill.get("zz-yard", "e-7"), None);
        for event in &events[200..] {
            assert_eq!(
                spill.get(&event.source, &event.event_id).as_ref(),
                Some(event)
            );
        }
        // a unit's events from a time on
        let unit = &unit(1);
        let from = events[0].event_time.unix_millis() + 12 * 3_600_000;
        let taken = spill.take_unit_from(unit, from);
        let expected: Vec<&Event> = events[200..]
            .iter()
            .filter(|e| matches!(&e.body, Body::Equipment(b) if b.equipment_reference == *unit))
            .filter(|e| e.event_time.unix_millis() >= from)
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(taken.len(), expected.len());
        assert!(taken.iter().all(|e| expected.contains(&e)));
        assert!(spill.of_unit(unit).iter().all(|s| s.millis < from));
        assert_eq!(spill.read_all().len(), 100 - expected.len());
    }
}
