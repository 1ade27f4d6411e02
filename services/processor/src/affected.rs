//! Where the engine marks the shipments an arrival may have changed, to be derived again at the
//! end of the cycle.
//!
//! The shipment stage and the replay collect a cycle's marks in an [`AffectedSet`]: a hash set
//! of inline ids, sorted once when the cycle derives them. A `BTreeSet<String>` (what the engine
//! took before, and what tests still pass it) allocated a string for each new mark and compared
//! some fifteen keys for every mark of a cycle of tens of thousands of shipments, the largest
//! single cost of applying.

use crate::engine::HashSet;
use kouan_model::Id;
use std::collections::BTreeSet;

/// A set of shipment ids the engine adds to.
pub trait Affected {
    fn mark(&mut self, shipment_id: &str);
}

impl Affected for BTreeSet<String> {
    fn mark(&mut self, shipment_id: &str) {
        if !self.contains(shipment_id) {
            self.insert(shipment_id.to_string());
        }
    }
}

/// A cycle's affected shipments.
#[derive(Debug, Default)]
pub struct AffectedSet(HashSet<Id>);

impl Affected for AffectedSet {
    fn mark(&mut self, shipment_id: &str) {
        if !self.0.contains(shipment_id) {
            self.0.insert(Id::from(shipment_id));
        }
    }
}

impl AffectedSet {
    pub fn new() -> Self {
        AffectedSet::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Empties the set, returning what it held in order (so that a cycle publishes its records
    /// in the same order whatever the hasher's seed).
    pub fn take_sorted(&mut self) -> Vec<Id> {
        let mut ids: Vec<Id> = self.0.drain().collect();
        ids.sort_unstable();
        ids
    }
}

impl<S: AsRef<str>> Extend<S> for AffectedSet {
    fn extend<T: IntoIterator<Item = S>>(&mut self, ids: T) {
        for id in ids {
            self.mark(id.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_once_and_hands_back_in_order() {
        let mut set = AffectedSet::new();
        for id in ["S-3", "S-1", "S-3", "S-2"] {
            set.mark(id);
        }
        set.extend(["S-1".to_string(), "S-0".to_string()]);
        assert_eq!(set.len(), 4);
        assert_eq!(set.take_sorted(), ["S-0", "S-1", "S-2", "S-3"]);
        assert!(set.is_empty());
    }
}
