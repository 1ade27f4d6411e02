//! What a DCSA subscription is sent: the DCSA events its changes added to their shipments
//! that pass its filters and that its owner may see, each version of an event once (a train's
//! departure joins every shipment on it, one change each).

use super::filter::{EventFilter, FilterError, FILTER_PARAMETERS};
use super::{DcsaIndex, Found, Key};
use crate::auth::Caller;
use crate::store::{ChangeKind, Item};
use std::collections::{HashSet, VecDeque};

/// The filters of a subscription's body (the fields DCSA's subscription bodies name; lists are
/// arrays, the others strings). `callbackUrl`, `secret` and `subscriptionID` are not filters.
pub fn filter_of_body(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<EventFilter, FilterError> {
    let mut filter = EventFilter::default();
    for (name, value) in body {
        if matches!(name.as_str(), "callbackUrl" | "secret" | "subscriptionID") {
            continue;
        }
        // the query's filters but the deprecated schedule, which T&T's subscriptions lack
        if !FILTER_PARAMETERS.contains(&name.as_str()) || name == "scheduleID" {
            return Err(FilterError::new(name, "unknown field"));
        }
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) if !LIST_FILTERS.contains(&name.as_str()) => {
                text.clone()
            }
            serde_json::Value::Array(items) if LIST_FILTERS.contains(&name.as_str()) => {
                if items.is_empty() {
                    continue;
                }
                let mut codes = Vec::with_capacity(items.len());
                for item in items {
                    codes.push(
                        item.as_str()
                            .ok_or_else(|| FilterError::new(name, "must be a list of codes"))?,
                    );
                }
                codes.join(",")
            }
            _ if LIST_FILTERS.contains(&name.as_str()) => {
                return Err(FilterError::new(name, "must be a list of codes"))
            }
            _ => return Err(FilterError::new(name, "must be a string")),
        };
        filter.set(name, &text)?;
    }
    Ok(filter)
}

/// The body filters that are lists of codes.
pub const LIST_FILTERS: &[&str] = &[
    "eventType",
    "shipmentEventTypeCode",
    "documentTypeCode",
    "transportEventTypeCode",
    "equipmentEventTypeCode",
];

/// Event versions a delivery sent lately, so that one joining many shipments is sent once.
/// Bounded: a version seen again after [`Recent::KEPT`] others is sent again (delivery is at
/// least once in any case).
#[derive(Debug)]
pub struct Recent<K = Key> {
    seen: HashSet<K>,
    order: VecDeque<K>,
}

impl<K> Default for Recent<K> {
    fn default() -> Self {
        Recent {
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Eq + std::hash::Hash + Clone> Recent<K> {
    pub const KEPT: usize = 20_000;

    /// True the first time `key` is offered (within the last [`Recent::KEPT`]).
    pub fn first(&mut self, key: &K) -> bool {
        if self.seen.contains(key) {
            return false;
        }
        self.seen.insert(key.clone());
        self.order.push_back(key.clone());
        if self.order.len() > Self::KEPT {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

impl DcsaIndex {
    /// The keys of `shipment`'s events.
    pub fn keys_of(&self, shipment: &str) -> Vec<Key> {
        self.by_shipment
            .get(shipment)
            .map(|keys| keys.to_vec())
            .unwrap_or_default()
    }

    /// The events `items` added that pass `filter` for `caller`, in order (to be rendered with
    /// [`super::render`]); a change whose additions are not known (a catch-up) offers all its
    /// shipment's events.
    pub fn notifications(
        &self,
        items: &[Item],
        filter: &EventFilter,
        caller: &Caller,
        recent: &mut Recent,
    ) -> Vec<Found> {
        let mut out = Vec::new();
        for item in items {
            let ChangeKind::Status(record) = &item.kind else {
                continue;
            };
            let keys = match &item.dcsa_added {
                Some(added) => added.to_vec(),
                None => self.keys_of(&record.shipment_id),
            };
            for key in keys {
                if let Some(event) = self.notification(&key, filter, caller) {
                    if recent.first(&key) {
                        out.push(event);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_s_filters_are_the_query_s() {
        let body = json!({
            "callbackUrl": "https://example.com/cb",
            "secret": "c2VjcmV0",
            "eventType": ["EQUIPMENT", "TRANSPORT"],
            "equipmentReference": "MSCU1234565",
            "UNLocationCode": null,
            "equipmentEventTypeCode": []
        });
        let filter = filter_of_body(body.as_object().unwrap()).unwrap();
        assert_eq!(
            filter.event_types,
            Some(["EQUIPMENT", "TRANSPORT"].into_iter().collect())
        );
        assert_eq!(filter.equipment.as_deref(), Some("MSCU1234565"));
        assert_eq!(filter.equipment_codes, None);
        for bad in [
            json!({"eventType": "EQUIPMENT"}),
            json!({"equipmentReference": ["A"]}),
            json!({"shipper": "x"}),
            json!({"eventType": ["AIR"]}),
        ] {
            assert!(filter_of_body(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }
}
