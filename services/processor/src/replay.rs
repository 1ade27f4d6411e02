//! The shipment stage's work on records without Kafka — decode, apply, derive the affected
//! shipments, compare each with its last digest, encode the changed, forget the finished — as
//! `kouan bench process` and the criterion benches measure it.

use crate::affected::AffectedSet;
use crate::engine::Refreshed;
use crate::retention::Retention;
use crate::Engine;
use kouan_model::{Id, Timestamp};
use std::collections::HashMap;
use std::time::Duration;

pub struct Replay {
    engine: Engine,
    retention: Retention,
    /// The digest last "published" per shipment.
    published: HashMap<Id, u64>,
    /// Bytes of the status records encoded so far.
    pub encoded_bytes: usize,
}

impl Replay {
    pub fn new(retention: Duration) -> Self {
        Replay {
            engine: Engine::new(),
            retention: Retention::new(retention),
            published: HashMap::new(),
            encoded_bytes: 0,
        }
    }

    /// One cycle's worth of event records (protobuf, as on the internal topics).
    pub fn batch(&mut self, records: &[Vec<u8>]) {
        let zero = Timestamp::from_parts(0, 0, 0).expect("epoch");
        let mut affected = AffectedSet::new();
        for record in records {
            if let Ok(event) = self.engine.decode(record) {
                self.engine.apply(event, &mut affected);
            }
        }
        for id in affected.take_sorted() {
            if let Some(Refreshed {
                encoded,
                finish_millis,
            }) = self.engine.refresh_encoded(&id)
            {
                let digest = encoded.digest;
                self.retention.note_finish(&id, finish_millis);
                if self.published.insert(id, digest) != Some(digest) {
                    self.encoded_bytes += encoded.payload(1, &zero).len();
                }
            }
        }
        self.retention.sweep(&mut self.engine);
        if self.retention.trim_due(self.engine.watermark_millis()) {
            self.retention.trim(&mut self.engine);
            // a replay has no dead-letter topic: what a runner would dead-letter is let go of
            self.engine.take_unreached();
        }
        self.engine.spill_unneeded();
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kouan_model::status_wire::digest_of_record;
    use kouan_model::{pb, Status};
    use prost::Message as _;

    #[test]
    fn the_payload_encoded_once_is_the_record_byte_for_byte() {
        let events = kouan_emitter::simulator::sample(5, 400.0, 20_000);
        let mut engine = Engine::new();
        let mut ignored = AffectedSet::new();
        for event in events {
            engine.apply(event, &mut ignored);
        }
        let mut statuses: Vec<Status> = engine
            .shipments()
            .filter_map(|id| engine.status(id))
            .collect();
        assert!(statuses.len() > 100);
        // and a record with (almost) nothing in it
        let mut bare = statuses[0].clone();
        bare.milestones.clear();
        bare.units.clear();
        bare.shipper = None;
        statuses.push(bare);
        let at = Timestamp::from_parts(1_790_000_000, 123_000_000, 480).expect("a time");
        for (n, status) in statuses.iter().enumerate() {
            let version = n as u64 % 5 + 1;
            let (record, digest) = status.record(version, &at);
            let encoded = status.encoded();
            assert_eq!(encoded.digest, digest, "{}", status.shipment_id);
            let payload = encoded.payload(version, &at);
            assert_eq!(payload, record.encode_to_vec(), "{}", status.shipment_id);
            let read = pb::ShipmentStatus::decode(payload.as_slice()).unwrap();
            assert_eq!(digest_of_record(read), digest);
        }
    }
}
