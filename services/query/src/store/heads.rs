//! The JSON heads of recently looked-up records: a record is kept once, as protobuf, so a lookup
//! renders its JSON; the shipments a dashboard or an integration asks for again and again are
//! rendered once per version instead. Bounded: when full, an arbitrary eighth is let go.

use crate::record::{Origin, StatusRecord};
use std::collections::HashMap;
use std::sync::Arc;

/// Heads kept at most (about 3 KB each for a record of 14 milestones: ~50 MB).
const KEPT: usize = 16_384;

#[derive(Debug, Default)]
pub struct Heads(parking_lot::Mutex<HashMap<Origin, Arc<str>>>);

impl Heads {
    /// The record's JSON head ([`StatusRecord::json_head`]), rendered now or earlier. Keyed by
    /// where the record was read, which names exactly one record.
    pub fn of(&self, record: &StatusRecord) -> Arc<str> {
        if let Some(head) = self.0.lock().get(&record.origin) {
            return head.clone();
        }
        // rendered outside the lock: two readers of a new record may both render it, once each
        let head: Arc<str> = Arc::from(record.json_head());
        let mut heads = self.0.lock();
        if heads.len() >= KEPT {
            let drop: Vec<Origin> = heads.keys().take(KEPT / 8).copied().collect();
            for origin in drop {
                heads.remove(&origin);
            }
        }
        heads.insert(record.origin, head.clone());
        head
    }
}
