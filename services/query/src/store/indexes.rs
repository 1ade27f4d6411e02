//! The facet indexes (shipper, stage, customs state, mode) that answer filtered lists in id
//! order, and the alert list; both only ever show what the caller may see.

use super::{State, Store};
use crate::auth::Caller;
use crate::record::{AlertRecord, StatusRecord};
use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

/// List filters of `GET /v1/shipments`; values are contract codes.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub shipper: Option<String>,
    pub transport_stage: Option<String>,
    pub customs_status: Option<String>,
    pub mode: Option<String>,
    /// Exclusive: items after this shipment id.
    pub after: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Facet {
    Shipper,
    Stage,
    Customs,
    Mode,
}

pub(super) fn facets(record: &StatusRecord) -> Vec<(Facet, Arc<str>)> {
    let mut facets = vec![
        (Facet::Stage, Arc::from(record.transport_stage().code())),
        (Facet::Customs, Arc::from(record.customs_status().code())),
    ];
    if let Some(shipper) = &record.shipper {
        facets.push((Facet::Shipper, shipper.clone()));
    }
    if let Some(mode) = record.mode() {
        facets.push((Facet::Mode, Arc::from(mode.code())));
    }
    facets
}

impl Store {
    /// One page of shipments visible to `caller`, ordered by shipment id, and whether more follow.
    /// The filter with the fewest members drives the walk; the others are checked per record.
    pub fn list(&self, caller: &Caller, query: &ListQuery) -> (Vec<Arc<StatusRecord>>, bool) {
        let shipper = match (caller.shipper(), query.shipper.as_deref()) {
            (Some(own), Some(asked)) if own != asked => return (Vec::new(), false),
            (Some(own), _) => Some(own.to_string()),
            (None, asked) => asked.map(str::to_string),
        };
        let wanted: Vec<(Facet, &str)> = [
            (Facet::Shipper, shipper.as_deref()),
            (Facet::Stage, query.transport_stage.as_deref()),
            (Facet::Customs, query.customs_status.as_deref()),
            (Facet::Mode, query.mode.as_deref()),
        ]
        .into_iter()
        .filter_map(|(facet, value)| value.map(|v| (facet, v)))
        .collect();
        let state = self.state.read();
        let start: Bound<&str> = match &query.after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let matches = |record: &StatusRecord| {
            wanted.iter().all(|(facet, value)| match facet {
                Facet::Shipper => record.shipper.as_deref() == Some(*value),
                Facet::Stage => record.transport_stage().code() == *value,
                Facet::Customs => record.customs_status().code() == *value,
                Facet::Mode => record.mode().map(|m| m.code()) == Some(*value),
            })
        };
        let mut items = Vec::with_capacity(query.limit.min(1024));
        let mut more = false;
        let mut take = |record: &Arc<StatusRecord>| {
            if !caller.sees(record.shipper.as_deref()) || !matches(record) {
                return true;
            }
            if items.len() == query.limit {
                more = true;
                return false;
            }
            items.push(record.clone());
            true
        };
        let smallest = wanted
            .iter()
            .map(|(facet, value)| {
                state
                    .index
                    .get(&(*facet, Arc::from(*value)))
                    .map_or(0, BTreeSet::len)
            })
            .enumerate()
            .min_by_key(|(_, len)| *len);
        match smallest {
            None => {
                for (_, (_, record)) in state.shipments.range::<str, _>((start, Bound::Unbounded)) {
                    if !take(record) {
                        break;
                    }
                }
            }
            Some((which, _)) => {
                let (facet, value) = wanted[which];
                if let Some(ids) = state.index.get(&(facet, Arc::from(value))) {
                    for id in ids.range::<str, _>((start, Bound::Unbounded)) {
                        if !take(&state.shipments[id].1) {
                            break;
                        }
                    }
                }
            }
        }
        (items, more)
    }

    /// Alerts of shipments visible to `caller`, ordered by alert id, optionally in one state
    /// and after a cursor.
    pub fn alerts(
        &self,
        caller: &Caller,
        state_filter: Option<kouan_model::AlertState>,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<Arc<AlertRecord>>, bool) {
        let state = self.state.read();
        let start: Bound<&str> = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::new();
        for (_, alert) in state.alerts.range::<str, _>((start, Bound::Unbounded)) {
            if state_filter.is_some_and(|wanted| wanted != alert.alert.state) {
                continue;
            }
            if !state.alert_visible(caller, alert) {
                continue;
            }
            if items.len() == limit {
                return (items, true);
            }
            items.push(alert.clone());
        }
        (items, false)
    }
}

impl State {
    pub(super) fn index(&mut self, record: &StatusRecord) {
        for facet in facets(record) {
            self.index
                .entry(facet)
                .or_default()
                .insert(record.shipment_id.clone());
        }
    }

    pub(super) fn unindex(&mut self, record: &StatusRecord) {
        for facet in facets(record) {
            if let Some(ids) = self.index.get_mut(&facet) {
                ids.remove(&record.shipment_id);
                if ids.is_empty() {
                    self.index.remove(&facet);
                }
            }
        }
    }

    /// A shipper sees an alert when the alert names it and its shipment (if the store holds
    /// it) is still its own: an alert raised before the shipment moved to another shipper
    /// must not show either shipper to the other.
    pub(super) fn alert_visible(&self, caller: &Caller, alert: &AlertRecord) -> bool {
        let current = self
            .shipments
            .get(&alert.shipment_id)
            .map(|(_, record)| record.shipper.as_deref());
        caller.sees(alert.shipper.as_deref()) && current.is_none_or(|shipper| caller.sees(shipper))
    }
}
