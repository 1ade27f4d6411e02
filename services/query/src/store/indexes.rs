//! The facet indexes (shipper, stage, customs state, mode) that answer filtered lists in id
//! order, and the alert list; both only ever show what the caller may see.

use super::{State, Store};
use crate::auth::Caller;
use crate::record::{AlertRecord, StatusRecord};
use kouan_model::{CustomsState, ShipmentMode, TransportStage};
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

/// One value of one facet: a key of the facet indexes. Codes are the model's enums, so indexing
/// a record allocates nothing but the index's own entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Facet {
    Shipper(Arc<str>),
    Stage(TransportStage),
    Customs(CustomsState),
    Mode(ShipmentMode),
}

impl Facet {
    /// Whether `record` has this value.
    fn holds(&self, record: &StatusRecord) -> bool {
        match self {
            Facet::Shipper(shipper) => record.shipper.as_ref() == Some(shipper),
            Facet::Stage(stage) => record.transport_stage() == *stage,
            Facet::Customs(customs) => record.customs_status() == *customs,
            Facet::Mode(mode) => record.mode() == Some(*mode),
        }
    }
}

/// The facet values of a record: stage, customs state, and shipper and mode when known.
pub(super) fn facets(record: &StatusRecord) -> impl Iterator<Item = Facet> + '_ {
    [
        Some(Facet::Stage(record.transport_stage())),
        Some(Facet::Customs(record.customs_status())),
        record.shipper.clone().map(Facet::Shipper),
        record.mode().map(Facet::Mode),
    ]
    .into_iter()
    .flatten()
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
        // an unknown code matches nothing
        let wanted: Result<Vec<Facet>, ()> = [
            Ok(shipper.map(|shipper| Facet::Shipper(Arc::from(shipper)))),
            coded(
                query.transport_stage.as_deref(),
                TransportStage::from_code,
                Facet::Stage,
            ),
            coded(
                query.customs_status.as_deref(),
                CustomsState::from_code,
                Facet::Customs,
            ),
            coded(query.mode.as_deref(), ShipmentMode::from_code, Facet::Mode),
        ]
        .into_iter()
        .filter_map(Result::transpose)
        .collect();
        let Ok(wanted) = wanted else {
            return (Vec::new(), false);
        };
        let state = self.state.read();
        let start: Bound<&str> = match &query.after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let matches = |record: &StatusRecord| wanted.iter().all(|facet| facet.holds(record));
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
            .map(|facet| state.index.get(facet).map_or(0, BTreeSet::len))
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
                if let Some(ids) = state.index.get(&wanted[which]) {
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

/// The facet of a coded list filter: `Ok(None)` without the filter, `Err` for a code no record
/// can have.
fn coded<T>(
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    facet: fn(T) -> Facet,
) -> Result<Option<Facet>, ()> {
    value
        .map(|code| parse(code).map(facet).ok_or(()))
        .transpose()
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
