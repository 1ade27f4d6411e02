//! The bench's synthetic status records: shaped like the processor's (about 14 milestones each),
//! spread over the shippers round-robin.

use super::{shipper_name, SHIPPERS};
use kouan_model::Status;
use kouan_model::{
    pb, Classifier, CustomsState, Direction, DocumentType, Location, ShipmentMode, Timestamp,
    TransportStage,
};
use kouan_model::{EmptyIndicator, Milestone, TransportMode, TransportRef};

const CODES: [&str; 14] = [
    "BOOKED",
    "GTIN",
    "LOAD",
    "DEPARTED",
    "BORDER_CROSSED",
    "ARRIVED",
    "DISC",
    "SUMMARY_DECLARED",
    "DECLARED",
    "ACCEPTED",
    "REVIEWED",
    "RELEASED",
    "GTOT",
    "STRP",
];
/// The codes whose milestones name a unit, a conveyance, a declaration.
const EQUIPMENT: [&str; 5] = ["GTIN", "LOAD", "DISC", "GTOT", "STRP"];
const MOVED: [&str; 5] = ["LOAD", "DEPARTED", "BORDER_CROSSED", "ARRIVED", "DISC"];
const CUSTOMS: [&str; 4] = ["SUMMARY_DECLARED", "DECLARED", "ACCEPTED", "RELEASED"];
const NODES: [&str; 8] = [
    "CNZZP", "CNAKA", "KZDOS", "BYBRE", "PLMAW", "DEHAM", "CNCGO", "LULUX",
];

pub(super) fn synthetic(index: usize, version: u64) -> pb::ShipmentStatus {
    let hour = |h: f64| {
        Timestamp::from_parts(
            1_790_000_000 + (index as i64 % 86_400) * 60 + (h * 3600.0) as i64,
            0,
            8 * 3600,
        )
        .expect("in range")
    };
    let air = index.is_multiple_of(3);
    let import = index % 4 != 3;
    let released = !index.is_multiple_of(5);
    let clearance = released.then(|| ((index * 7919) % 9600) as f64 / 100.0);
    let node = NODES[index % NODES.len()];
    let location = |code: &str| Location {
        unlocode: code.to_string(),
        facility: None,
        name: None,
    };
    let status = Status {
        document_type: Some(if air {
            DocumentType::Awb
        } else {
            DocumentType::RailWaybill
        }),
        shipper: Some(shipper_name(index % SHIPPERS)),
        mode: Some(if air {
            ShipmentMode::Air
        } else {
            ShipmentMode::Rail
        }),
        direction: Some(if import {
            Direction::Import
        } else {
            Direction::Export
        }),
        origin: Some("DEHAM".into()),
        destination: Some("CNZZP".into()),
        port_of_entry: Some(if air { "CNCGO" } else { "CNZZP" }.into()),
        units: vec![format!("CSQU{:07}", index % 10_000_000)],
        booked_at: Some(hour(0.0)),
        received_at: Some(hour(5.0)),
        departed_at: Some(hour(10.0)),
        arrived_at: Some(hour(200.0)),
        declared_at: Some(hour(150.0)),
        customs_status: if released {
            CustomsState::Released
        } else {
            CustomsState::Declared
        },
        released_at: clearance.map(|c| hour(200.0 + c)),
        inspected: index.is_multiple_of(17),
        transport_stage: [
            TransportStage::InTransit,
            TransportStage::Arrived,
            TransportStage::Delivered,
        ][index % 3],
        advance_declared: import.then_some(index % 3 != 1),
        clearance_hours: clearance,
        eta: Some(hour(198.0)),
        last_location: Some(location(node)),
        dwell_since: Some(hour(200.0)),
        milestones: CODES
            .iter()
            .enumerate()
            .map(|(i, code)| Milestone {
                code,
                event_time: hour(i as f64 * 15.0),
                classifier: Classifier::Act,
                location: Some(location(NODES[(index + i) % NODES.len()])),
                source: "bench".into(),
                event_id: format!("{index}-{i}"),
                recorded_time: Some(hour(i as f64 * 15.0 + 0.25)),
                unit: (!air && EQUIPMENT.contains(code))
                    .then(|| format!("ZZHU{:07}", index % 10_000_000)),
                empty_indicator: (!air && EQUIPMENT.contains(code))
                    .then_some(EmptyIndicator::Laden),
                conveyance: MOVED.contains(code).then(|| TransportRef {
                    mode: if air {
                        TransportMode::Air
                    } else {
                        TransportMode::Rail
                    },
                    reference: format!("X{:04}", index % 9973).into(),
                }),
                declaration: CUSTOMS.contains(code).then(|| format!("4604{index:014}")),
            })
            .collect(),
        ..Status::empty(format!("{}-{index:09}", if air { "784" } else { "ZZH" }))
    };
    status.to_proto(version, &hour(300.0))
}
