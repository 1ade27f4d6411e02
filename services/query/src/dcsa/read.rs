//! Reading the DCSA index: an event by id, a page in either order from a cursor or the filter's
//! bounds, whether a new entry is a subscription's, and the events found rendered as DCSA's JSON.

use super::*;

impl DcsaIndex {
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
pub(super) fn is_empty(lower: &Bound<Key>, upper: &Bound<Key>) -> bool {
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
