//! The own events (`shipment`, `air`, `customs`) of finished shipments, kept on local disk
//! instead of in memory.
//!
//! A shipment delivered or cancelled is remembered for the retention period (30 days by
//! default) so that a late correction still reaches it, but it rarely changes again, and most of
//! the shipments held are finished. [`crate::engine::Engine`] writes a finished shipment's direct
//! events here as one block right after a derivation finds it finished, while they are in the
//! processor's cache (cold, a day later, encoding them waited on memory), and keeps
//! 50–60 bytes for it in memory (its id, where the block lies, and the earliest of its events'
//! times, which the container rules read without the events). Deriving it again (a container or conveyance event
//! reached it) reads the block. A new event of its own is added to the block ([`Park::add_new`]:
//! most are a customs closure after the delivery); another version of one of its events, or a
//! derivation that finds it no longer finished, brings the block back into memory
//! ([`Park::take`]). Kafka Streams keeps its state in RocksDB on local disk, with a block cache
//! of the hot part, for the same reason.
//!
//! A version of a shipment's own event is looked for among that shipment's events only: a
//! correction that names another shipment is that shipment's event, as the router already
//! treats it (it goes to that shipment's partition, possibly another instance's).
//!
//! A block is each event's protobuf form (as on the internal topics) after its length, a `u32`
//! little-endian. The file is a [`ScratchFile`]; what it holds is in `kouan.internal.by-shipment`
//! and, as the blocks themselves, in the local checkpoint ([`Park::blocks`], [`Park::restore`]),
//! which a restart writes back to a new file without decoding them.

use crate::scratch::{Extent, ScratchFile};
use kouan_model::{protobuf, Event, Id};
use std::collections::HashMap;
use std::path::Path;

/// One parked shipment: where its block lies, and the earliest time of its events.
#[derive(Debug, Clone, Copy)]
struct Block {
    at: Extent,
    /// Unix ms.
    floor: i64,
}

/// One parked shipment as a checkpoint holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ParkedBlock {
    pub shipment_id: String,
    /// The earliest event time of its events, Unix ms.
    pub floor_millis: i64,
    /// The block: each event's protobuf form after its length (`u32`, little-endian).
    pub events: Vec<u8>,
}

#[derive(Debug)]
pub struct Park {
    file: ScratchFile,
    blocks: HashMap<Id, Block, foldhash::fast::RandomState>,
}

impl Park {
    /// The bytes its scratch file holds on disk (what the state directory holds for it).
    pub fn bytes_on_disk(&self) -> u64 {
        self.file.written()
    }
}

impl Default for Park {
    fn default() -> Self {
        Park::in_dir(std::env::temp_dir())
    }
}

impl Park {
    /// A park whose file will be made in `dir` (when the first shipment is parked).
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        Park {
            file: ScratchFile::in_dir(dir, "park"),
            blocks: HashMap::default(),
        }
    }

    /// Shipments parked.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn holds(&self, shipment_id: &str) -> bool {
        !self.blocks.is_empty() && self.blocks.contains_key(shipment_id)
    }

    /// The earliest event time of a parked shipment's events.
    pub fn floor(&self, shipment_id: &str) -> Option<i64> {
        if self.blocks.is_empty() {
            return None;
        }
        self.blocks.get(shipment_id).map(|block| block.floor)
    }

    /// The parked shipments, in no particular order.
    pub fn shipments(&self) -> impl Iterator<Item = &Id> {
        self.blocks.keys()
    }

    /// Parks a shipment's events as one block. On an error nothing is parked and the caller
    /// keeps the events in memory.
    pub fn put(
        &mut self,
        shipment_id: &str,
        events: &[std::sync::Arc<Event>],
    ) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(events.len() * 160);
        for event in events {
            append_record(&mut bytes, event);
        }
        let floor = events
            .iter()
            .map(|event| event.event_time.unix_millis())
            .min()
            .unwrap_or(i64::MAX);
        let at = self.file.append(&bytes)?;
        if let Some(old) = self.blocks.insert(shipment_id.into(), Block { at, floor }) {
            self.file.free(old.at);
        }
        Ok(())
    }

    /// Adds `event` to a parked shipment's block (written anew, the old one let go of) unless
    /// the block holds a version of its (`source`, `eventId`) already; whether it did. On an
    /// error the block stays as it was.
    pub fn add_new(&mut self, shipment_id: &str, event: &Event) -> std::io::Result<bool> {
        let Some(block) = self.blocks.get(shipment_id).copied() else {
            return Ok(false);
        };
        let mut bytes = self.file.read(block.at);
        let identity = (&*event.source, event.event_id.as_str());
        if block_identities(&bytes).contains(&identity) {
            return Ok(false);
        }
        append_record(&mut bytes, event);
        let at = self.file.append(&bytes)?;
        let floor = block.floor.min(event.event_time.unix_millis());
        self.blocks.insert(shipment_id.into(), Block { at, floor });
        self.file.free(block.at);
        Ok(true)
    }

    /// A parked shipment's events, read back (they stay parked).
    pub fn events(&self, shipment_id: &str) -> Option<Vec<Event>> {
        let block = self.blocks.get(shipment_id)?;
        Some(decode_block(&self.file.read(block.at)))
    }

    /// Takes a shipment out of the park, returning its events.
    pub fn take(&mut self, shipment_id: &str) -> Option<Vec<Event>> {
        let events = self.events(shipment_id)?;
        self.drop_block(shipment_id);
        Some(events)
    }

    /// Takes a shipment out of the park, returning its block undecoded.
    pub fn take_block(&mut self, shipment_id: &str) -> Option<Vec<u8>> {
        let block = self.file.read(self.blocks.get(shipment_id)?.at);
        self.drop_block(shipment_id);
        Some(block)
    }

    /// Lets go of a parked shipment without reading it.
    pub fn drop_block(&mut self, shipment_id: &str) {
        if let Some(block) = self.blocks.remove(shipment_id) {
            self.file.free(block.at);
            if self.file.worth_compacting() {
                self.file
                    .compact(self.blocks.values_mut().map(|block| &mut block.at));
            }
        }
    }

    /// Every parked shipment as its block, for a checkpoint.
    pub fn blocks(&self) -> Vec<ParkedBlock> {
        self.blocks
            .iter()
            .map(|(shipment_id, block)| ParkedBlock {
                shipment_id: shipment_id.to_string(),
                floor_millis: block.floor,
                events: self.file.read(block.at),
            })
            .collect()
    }

    /// Parks the blocks [`Park::blocks`] gave, as they are (a checkpoint's restore).
    pub fn restore(&mut self, blocks: &[ParkedBlock]) -> std::io::Result<()> {
        for block in blocks {
            let at = self.file.append(&block.events)?;
            let parked = Block {
                at,
                floor: block.floor_millis,
            };
            if let Some(old) = self
                .blocks
                .insert(block.shipment_id.as_str().into(), parked)
            {
                self.file.free(old.at);
            }
        }
        Ok(())
    }
}

/// Appends `event` to a block: its protobuf form after its length.
fn append_record(block: &mut Vec<u8>, event: &Event) {
    let at = block.len();
    block.extend_from_slice(&[0; 4]);
    kouan_model::event_wire::write_event(event, block);
    let len = (block.len() - at - 4) as u32;
    block[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// The (`source`, `eventId`) of each event of a block [`Park::put`] wrote, read in place.
pub fn block_identities(block: &[u8]) -> Vec<(&str, &str)> {
    records(block)
        .map(|record| {
            let view = kouan_model::event_view::EventView::decode(record)
                .expect("a parked block holds valid events");
            (view.source, view.event_id)
        })
        .collect()
}

fn records(mut bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let (record, rest) = rest.split_at(u32::from_le_bytes(*len) as usize);
        bytes = rest;
        Some(record)
    })
}

/// The events of a block [`Park::put`] wrote.
pub fn decode_block(block: &[u8]) -> Vec<Event> {
    records(block)
        .map(|record| protobuf::decode_event(record).expect("a parked block holds valid events"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn customs_event(id: usize, shipment: usize, hour: i64) -> Arc<Event> {
        Arc::new(
            kouan_model::ndjson::decode_line(
                format!(
                    r#"{{"eventId":"c-{id}","source":"single-window","eventTime":"2026-11-01T{hour:02}:00:00+08:00","location":{{"unlocode":"CNZZU"}},"customs":{{"status":"RELEASED","declarationNumber":"4604202610{id:08}","shipmentId":"ZZHH26110000{shipment:02}","direction":"EXPORT","procedure":"STANDARD"}}}}"#
                )
                .as_bytes(),
            )
            .expect("a valid event"),
        )
    }

    /// What is parked reads back whole, with its floor; a block taken out is gone, a block
    /// parked again replaces the old one, and the blocks of a checkpoint park again as they were,
    /// across the file's compaction.
    #[test]
    fn parked_blocks_read_back_whole_across_compaction_and_restore() {
        let mut park = Park::in_dir(std::env::temp_dir());
        park.file.compact_above(1_000);
        let shipments: Vec<Vec<Arc<Event>>> = (0..40)
            .map(|s| {
                (0..5)
                    .map(|i| customs_event(s * 5 + i, s, 20 - i as i64))
                    .collect()
            })
            .collect();
        let id = |s: usize| Id::from(format!("ZZHH26110000{s:02}").as_str());
        for (s, events) in shipments.iter().enumerate() {
            park.put(&id(s), events).unwrap();
        }
        assert_eq!(park.len(), 40);
        let owned =
            |events: &[Arc<Event>]| events.iter().map(|e| (**e).clone()).collect::<Vec<_>>();
        assert_eq!(park.events(&id(7)), Some(owned(&shipments[7])));
        assert_eq!(
            park.floor(&id(7)),
            Some(shipments[7][4].event_time.unix_millis())
        );
        for (s, events) in shipments.iter().enumerate().take(30) {
            assert_eq!(park.take(&id(s)), Some(owned(events)));
        }
        assert!(!park.holds(&id(3)) && park.events(&id(3)).is_none());
        let (end, garbage) = (park.file.written(), park.file.garbage());
        assert!(
            garbage < end - garbage,
            "compacted: {garbage} of {end} dead"
        );
        // an event added to a block: read back after the others, the floor moved
        let late = customs_event(999, 36, 1);
        assert!(park.add_new(&id(36), &late).unwrap());
        // a version of an event the block holds is not added
        assert!(!park.add_new(&id(36), &late).unwrap());
        let mut expected = owned(&shipments[36]);
        expected.push((*late).clone());
        assert_eq!(park.events(&id(36)), Some(expected));
        assert_eq!(park.floor(&id(36)), Some(late.event_time.unix_millis()));
        // parked again with one event fewer: the new block counts
        park.put(&id(35), &shipments[35][1..]).unwrap();
        assert_eq!(park.events(&id(35)), Some(owned(&shipments[35][1..])));

        let mut blocks = park.blocks();
        blocks.sort();
        let mut restored = Park::in_dir(std::env::temp_dir());
        restored.restore(&blocks).unwrap();
        let mut again = restored.blocks();
        again.sort();
        assert_eq!(again, blocks);
        for s in 30..40 {
            assert_eq!(restored.events(&id(s)), park.events(&id(s)), "shipment {s}");
            assert_eq!(restored.floor(&id(s)), park.floor(&id(s)));
        }
    }
}
