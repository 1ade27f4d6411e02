//! The shipment stage's work on records without Kafka — decode, apply, derive the affected
//! shipments, compare each with its last digest, encode the changed, forget the finished — as
//! `kouan bench process` and the criterion benches measure it.

use crate::retention::Retention;
use crate::Engine;
use kouan_model::{protobuf, Timestamp};
use prost::Message as _;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

pub struct Replay {
    engine: Engine,
    retention: Retention,
    /// The digest last "published" per shipment.
    published: HashMap<String, u64>,
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
        let mut affected = BTreeSet::new();
        for record in records {
            if let Ok(event) = protobuf::decode_event(record) {
                self.engine.apply(event, &mut affected);
            }
        }
        for id in affected {
            if let Some(status) = self.engine.refresh(&id) {
                let (record, digest) = status.record(1, &zero);
                self.retention.note(&id, &status);
                if self.published.insert(id, digest) != Some(digest) {
                    self.encoded_bytes += record.encode_to_vec().len();
                }
            }
        }
        self.retention.sweep(&mut self.engine);
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
