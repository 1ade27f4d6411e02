//! The reference implementation of STATUS.md: a batch function over a set of events, written for
//! clarity, not speed. The streaming engine must agree with it field by field.

use crate::belonging::{belonging, Candidates};
use crate::derive::derive;
use crate::versions::winners;
use kouan_model::Status;
use kouan_model::*;
use std::collections::{BTreeMap, BTreeSet};

/// The status of every shipment the events speak of.
pub fn reference(events: &[Event]) -> BTreeMap<String, Status> {
    let present = winners(events);
    let mut shipments = BTreeSet::new();
    for event in &present {
        match &event.body {
            Body::Shipment(body) => {
                shipments.insert(body.shipment_id.as_str());
            }
            Body::Air(body) => {
                shipments.insert(body.awb.as_str());
            }
            Body::Customs(body) => {
                shipments.insert(body.shipment_id.as_str());
            }
            Body::Equipment(body) if is_stuffing(body) => {
                shipments.extend(body.shipment_ids.iter().map(String::as_str));
            }
            _ => {}
        }
    }
    let mut statuses = BTreeMap::new();
    for shipment_id in shipments {
        let direct: Vec<&Event> = present
            .iter()
            .copied()
            .filter(|event| direct_subject(event) == Some(shipment_id))
            .collect();
        let mut unit_ids: BTreeSet<&str> = BTreeSet::new();
        for event in &present {
            match &event.body {
                Body::Shipment(body) if body.shipment_id == shipment_id => {
                    unit_ids.extend(body.units.iter().map(String::as_str));
                }
                Body::Equipment(body)
                    if is_stuffing(body)
                        && body.shipment_ids.iter().any(|id| id == shipment_id) =>
                {
                    unit_ids.insert(&body.equipment_reference);
                }
                _ => {}
            }
        }
        let transport_events = |conveyance: &str| -> Vec<&Event> {
            present
                .iter()
                .copied()
                .filter(|event| matches!(&event.body, Body::Transport(body) if body.reference == conveyance))
                .collect()
        };
        let mut candidates = Candidates {
            direct,
            units: BTreeMap::new(),
            conveyance_events: &transport_events,
        };
        for unit in unit_ids {
            let unit_events: Vec<&Event> = present
                .iter()
                .copied()
                .filter(|event| matches!(&event.body, Body::Equipment(body) if body.equipment_reference == unit))
                .collect();
            candidates.units.insert(unit, unit_events);
        }
        let events = belonging(shipment_id, &candidates);
        if !events.is_empty() {
            statuses.insert(shipment_id.to_string(), derive(shipment_id, &events));
        }
    }
    statuses
}

/// The shipment a `shipment`, `air` or `customs` event names.
pub fn direct_subject(event: &Event) -> Option<&str> {
    match &event.body {
        Body::Shipment(body) => Some(&body.shipment_id),
        Body::Air(body) => Some(&body.awb),
        Body::Customs(body) => Some(&body.shipment_id),
        _ => None,
    }
}

pub fn is_stuffing(body: &EquipmentBody) -> bool {
    matches!(
        body.kind,
        EquipmentEventType::Stuf | EquipmentEventType::Strp
    )
}
