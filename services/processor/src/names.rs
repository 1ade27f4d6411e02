//! A small sorted set of names: what the engine's relations hold per key (a shipment's units, a
//! unit's conveyances, …). Most hold one to three names, for which a `BTreeSet` allocates a
//! whole node (~280 bytes) and a sorted `Vec` grown from one slot 24 to 72; iteration is in the
//! same (sorted) order, so nothing the engine derives depends on which it is.

use kouan_model::Id;

/// Names in sorted order, each once; each held inline (identifiers are at most 24 bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names(Vec<Id>);

impl Names {
    /// Adds `name`; whether it was new.
    pub fn insert(&mut self, name: &str) -> bool {
        match self.0.binary_search_by(|held| held.as_str().cmp(name)) {
            Ok(_) => false,
            Err(at) => {
                if self.0.capacity() == 0 {
                    self.0.reserve_exact(1);
                }
                self.0.insert(at, Id::from(name));
                true
            }
        }
    }

    /// Removes `name`; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.0.binary_search_by(|held| held.as_str().cmp(name)) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0
            .binary_search_by(|held| held.as_str().cmp(name))
            .is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Id> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Names {
    type Item = &'a Id;
    type IntoIter = std::slice::Iter<'a, Id>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Names {
    type Item = Id;
    type IntoIter = std::vec::IntoIter<Id>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_as_a_btree_set(ops in proptest::collection::vec((any::<bool>(), 0u8..12), 0..80)) {
            let mut names = Names::default();
            let mut model = std::collections::BTreeSet::new();
            for (insert, n) in ops {
                let name = format!("N{n}");
                if insert {
                    prop_assert_eq!(names.insert(&name), model.insert(name.clone()));
                } else {
                    prop_assert_eq!(names.remove(&name), model.remove(&name));
                }
                prop_assert_eq!(names.contains(&name), model.contains(&name));
                prop_assert_eq!(names.len(), model.len());
                prop_assert!(names.iter().map(Id::as_str).eq(model.iter().map(String::as_str)));
            }
        }
    }
}
