//! The reference implementation of STATUS.md: a batch function over a set of events, written for
//! clarity, not speed. The streaming engine must agree with it field by field.

use crate::belonging::{belonging, Candidates};
use crate::derive::derive;
use crate::versions::winners;
use kouan_model::Status;
use kouan_model::*;
use std::collections::{BTreeMap, BTreeSet};

/// The status of every shipment the events speak of.
///
/// The events are grouped once by what they name (shipment, unit, conveyance), each group in the
/// order of `winners`, so that a history of hundreds of thousands of events is judged in time
/// proportional to it; what each shipment is given is what a scan of every event would give.
pub fn reference(events: &[Event]) -> BTreeMap<String, Status> {
    let present = winners(events);
    let mut direct: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    let mut units_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut unit_events: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    let mut conveyance_events: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in present.iter().copied() {
        if let Some(subject) = direct_subject(event) {
            direct.entry(subject).or_default().push(event);
        }
        match &event.body {
            Body::Shipment(body) => {
                units_of
                    .entry(body.shipment_id.as_str())
                    .or_default()
                    .extend(body.units.iter().map(String::as_str));
            }
            Body::Equipment(body) => {
                if is_stuffing(body) {
                    for shipment_id in &body.shipment_ids {
                        units_of
                            .entry(shipment_id.as_str())
                            .or_default()
                            .insert(&body.equipment_reference);
                    }
                }
                unit_events
                    .entry(body.equipment_reference.as_str())
                    .or_default()
                    .push(event);
            }
            Body::Transport(body) => {
                conveyance_events
                    .entry(body.reference.as_str())
                    .or_default()
                    .push(event);
            }
            _ => {}
        }
    }
    // the shipments: every direct subject, and every shipment a stuffing names
    let mut shipments: BTreeSet<&str> = direct.keys().copied().collect();
    for event in &present {
        if let Body::Equipment(body) = &event.body {
            if is_stuffing(body) {
                shipments.extend(body.shipment_ids.iter().map(Id::as_str));
            }
        }
    }
    let transport_events = |conveyance: &str| -> Vec<&Event> {
        conveyance_events
            .get(conveyance)
            .cloned()
            .unwrap_or_default()
    };
    let mut statuses = BTreeMap::new();
    for shipment_id in shipments {
        let mut candidates = Candidates {
            direct: direct.get(shipment_id).cloned().unwrap_or_default(),
            units: BTreeMap::new(),
            conveyance_events: &transport_events,
        };
        for unit in units_of.get(shipment_id).into_iter().flatten() {
            let events = unit_events.get(unit).cloned().unwrap_or_default();
            candidates.units.insert(*unit, events);
        }
        let events = belonging(shipment_id, &candidates);
        if !events.is_empty() {
            statuses.insert(shipment_id.to_string(), derive(shipment_id, &events));
        }
    }
    statuses
}

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
