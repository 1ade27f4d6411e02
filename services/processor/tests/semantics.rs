//! STATUS.md's rules on small hand-written stories, with the expected record written out.

use kouan_model::Status;
use kouan_model::*;
use kouan_processor::{reference, Engine};
use std::collections::BTreeSet;

fn at(hour: i64) -> Timestamp {
    Timestamp::from_parts(1_763_568_000 + hour * 3600, 0, 8 * 3600).unwrap()
}

fn event(id: &str, hour: i64, place: Option<&str>, body: Body) -> Event {
    Event {
        event_id: id.into(),
        source: "test".into(),
        event_time: at(hour),
        recorded_time: None,
        classifier: None,
        location: place.map(|code| {
            std::sync::Arc::new(Location {
                unlocode: code.into(),
                facility: None,
                name: None,
            })
        }),
        retracted: false,
        body,
    }
}

fn booking(id: &str, direction: Direction, destination: &str, units: &[&str]) -> Body {
    Body::from(ShipmentBody {
        kind: ShipmentEventType::Booked,
        shipment_id: id.into(),
        document_type: Some(DocumentType::RailWaybill),
        shipper: Some("henan-elec".into()),
        mode: Some(ShipmentMode::Rail),
        direction: Some(direction),
        origin: Some("CNZZP".into()),
        destination: Some(destination.into()),
        port_of_entry: None,
        units: units.iter().map(|u| u.to_string()).collect(),
        pieces: None,
        weight_kg: None,
        hs_code: None,
    })
}

fn equipment(
    kind: EquipmentEventType,
    unit: &str,
    train: Option<&str>,
    shipments: &[&str],
) -> Body {
    Body::Equipment(EquipmentBody {
        kind,
        equipment_reference: unit.into(),
        empty_indicator: EmptyIndicator::Laden,
        shipment_ids: shipments
            .iter()
            .map(|s| kouan_model::Id::from(*s))
            .collect(),
        transport: train.map(|reference| TransportRef {
            mode: TransportMode::Rail,
            reference: reference.into(),
        }),
    })
}

fn train(kind: TransportEventType, reference: &str) -> Body {
    Body::Transport(TransportBody {
        kind,
        mode: TransportMode::Rail,
        reference: reference.into(),
    })
}

fn customs(status: CustomsStatus, shipment: &str) -> Body {
    Body::Customs(CustomsBody {
        status,
        declaration_number: "460420261000123456".into(),
        shipment_id: shipment.into(),
        direction: None,
        procedure: None,
    })
}

/// The record of `shipment` from streaming `events` in the given order, checked against the
/// reference on the same set.
fn status_of(events: &[Event], shipment: &str) -> Status {
    let mut engine = Engine::new();
    let mut affected = BTreeSet::new();
    for event in events {
        engine.apply(event.clone(), &mut affected);
    }
    let streamed = engine.status(shipment).expect("a record");
    assert_eq!(reference(events)[shipment], streamed);
    streamed
}

const U: &str = "CSQU3054383";

#[test]
fn a_transshipment_with_a_late_loading_list() {
    use EquipmentEventType::*;
    use TransportEventType::*;
    let events = vec![
        event(
            "b",
            0,
            None,
            booking("S1", Direction::Export, "DEHAM", &[U]),
        ),
        event("gtin", 1, Some("CNZZP"), equipment(Gtin, U, None, &[])),
        // the first train leaves before its loading list arrives
        event("dep1", 3, Some("CNZZP"), train(Departed, "X8001")),
        event("arr1", 70, Some("KZDOS"), train(Arrived, "X8001")),
        event(
            "disc1",
            71,
            Some("KZDOS"),
            equipment(Disc, U, Some("X8001"), &[]),
        ),
        event(
            "load2",
            75,
            Some("KZDOS"),
            equipment(Load, U, Some("W1520"), &[]),
        ),
        event("dep2", 76, Some("KZDOS"), train(Departed, "W1520")),
        event("arr2", 300, Some("DEHAM"), train(Arrived, "W1520")),
        event(
            "load1",
            2,
            Some("CNZZP"),
            equipment(Load, U, Some("X8001"), &[]),
        ),
    ];
    let status = status_of(&events[..events.len() - 1], "S1");
    assert_eq!(
        status.departed_at,
        Some(at(76)),
        "no loading list yet: the first train's departure is not S1's"
    );
    assert_eq!(status.received_at, Some(at(1)));
    let status = status_of(&events, "S1");
    assert_eq!(status.departed_at, Some(at(3)));
    assert_eq!(
        status.arrived_at,
        Some(at(300)),
        "arrival only at the destination"
    );
    assert_eq!(status.transport_stage, TransportStage::Arrived);
    assert_eq!(status.last_location.unwrap().unlocode, "DEHAM");
    assert_eq!(status.dwell_since, Some(at(300)));
    let codes: Vec<&str> = status.milestones.iter().map(|m| m.code).collect();
    assert_eq!(
        codes,
        ["BOOKED", "GTIN", "LOAD", "DEPARTED", "ARRIVED", "DISC", "LOAD", "DEPARTED", "ARRIVED"]
    );
}

#[test]
fn a_reused_container_belongs_to_each_shipment_in_turn() {
    use EquipmentEventType::*;
    let events = vec![
        event(
            "b1",
            0,
            None,
            booking("S1", Direction::Export, "DEHAM", &[U]),
        ),
        event("gtot1", 300, Some("DEHAM"), equipment(Gtot, U, None, &[])),
        event(
            "b2",
            400,
            None,
            booking("S2", Direction::Import, "CNZZP", &[U]),
        ),
        event("gtin2", 410, Some("CNZZP"), equipment(Gtin, U, None, &[])),
        event("gtot2", 800, Some("CNZZP"), equipment(Gtot, U, None, &[])),
    ];
    let first = status_of(&events, "S1");
    assert_eq!(first.delivered_at, Some(at(300)));
    assert_eq!(
        first.milestones.len(),
        2,
        "S1 ends at its laden gate-out in Hamburg"
    );
    let second = status_of(&events, "S2");
    assert_eq!(second.delivered_at, Some(at(800)));
    assert_eq!(
        second.received_at,
        Some(at(410)),
        "laden gate-in at S2's origin"
    );
    assert_eq!(
        second.milestones.len(),
        3,
        "S2 starts at its booking: S1's trip is not in it"
    );
}

#[test]
fn retractions_corrections_estimates_and_customs() {
    let mut retracted = event(
        "dep",
        5,
        Some("CNZZP"),
        train(TransportEventType::Departed, "X8001"),
    );
    retracted.retracted = true;
    retracted.recorded_time = Some(at(6));
    let mut estimate1 = event(
        "eta1",
        200,
        Some("CNZZP"),
        train(TransportEventType::Arrived, "X8001"),
    );
    estimate1.classifier = Some(Classifier::Est);
    estimate1.recorded_time = Some(at(4));
    let mut estimate2 = event(
        "eta2",
        190,
        Some("CNZZP"),
        train(TransportEventType::Arrived, "X8001"),
    );
    estimate2.classifier = Some(Classifier::Est);
    estimate2.recorded_time = Some(at(8));
    let events = vec![
        event(
            "b",
            0,
            None,
            booking("S1", Direction::Import, "CNZZP", &[U]),
        ),
        event(
            "load",
            2,
            Some("DEHAM"),
            equipment(EquipmentEventType::Load, U, Some("X8001"), &[]),
        ),
        event(
            "dep",
            5,
            Some("DEHAM"),
            train(TransportEventType::Departed, "X8001"),
        ),
        retracted,
        estimate2,
        estimate1,
        event(
            "decl",
            150,
            Some("CNZZP"),
            customs(CustomsStatus::Declared, "S1"),
        ),
        event(
            "arr",
            201,
            Some("CNZZP"),
            train(TransportEventType::Arrived, "X8001"),
        ),
        event(
            "insp",
            210,
            Some("CNZZP"),
            customs(CustomsStatus::Inspected, "S1"),
        ),
        event(
            "rel",
            210,
            Some("CNZZP"),
            customs(CustomsStatus::Released, "S1"),
        ),
    ];
    let status = status_of(&events, "S1");
    assert_eq!(status.departed_at, None, "the departure was retracted");
    assert_eq!(status.eta, Some(at(190)), "the estimate recorded last wins");
    assert_eq!(
        status.customs_status,
        CustomsState::Released,
        "equal times: the higher rank"
    );
    assert!(status.inspected);
    assert_eq!(status.released_at, Some(at(210)));
    assert_eq!(status.advance_declared, Some(true));
    assert_eq!(status.clearance_hours, Some(9.0));
    assert_eq!(status.transport_stage, TransportStage::Arrived);
}

#[test]
fn stuffing_links_a_groupage_container_between_stuf_and_strp() {
    use EquipmentEventType::*;
    let events = vec![
        event("b", 0, None, booking("S1", Direction::Export, "DEHAM", &[])),
        event("before", 1, Some("CNZZP"), equipment(Gtin, U, None, &[])),
        event(
            "stuf",
            2,
            Some("CNZZP"),
            equipment(Stuf, U, None, &["S1", "S2"]),
        ),
        event(
            "load",
            3,
            Some("CNZZP"),
            equipment(Load, U, Some("X8001"), &[]),
        ),
        event(
            "dep",
            4,
            Some("CNZZP"),
            train(TransportEventType::Departed, "X8001"),
        ),
        event(
            "strp",
            300,
            Some("DEHAM"),
            equipment(Strp, U, None, &["S1", "S2"]),
        ),
        event("after", 301, Some("DEHAM"), equipment(Gtot, U, None, &[])),
    ];
    let status = status_of(&events, "S1");
    let ids: Vec<&str> = status
        .milestones
        .iter()
        .map(|m| m.event_id.as_str())
        .collect();
    assert_eq!(ids, ["b", "stuf", "load", "dep", "strp"]);
    assert_eq!(status.departed_at, Some(at(4)));
    let other = status_of(&events, "S2");
    assert_eq!(other.shipper, None, "S2 has no booking, only its stuffing");
    assert_eq!(other.milestones.len(), 4);
}

#[test]
fn a_record_reads_back_as_it_was_derived() {
    let events = vec![
        event(
            "b",
            0,
            None,
            booking("S1", Direction::Import, "CNZZP", &[U]),
        ),
        event(
            "load",
            2,
            Some("DEHAM"),
            equipment(EquipmentEventType::Load, U, Some("X8001"), &[]),
        ),
        event(
            "dep",
            5,
            Some("DEHAM"),
            train(TransportEventType::Departed, "X8001"),
        ),
        event(
            "decl",
            150,
            Some("CNZZP"),
            customs(CustomsStatus::Declared, "S1"),
        ),
        event(
            "arr",
            201,
            Some("CNZZP"),
            train(TransportEventType::Arrived, "X8001"),
        ),
        event(
            "rel",
            210,
            Some("CNZZP"),
            customs(CustomsStatus::Released, "S1"),
        ),
    ];
    let status = status_of(&events, "S1");
    let record = status.to_proto(7, &at(300));
    let (back, version) = Status::from_proto(record).unwrap();
    assert_eq!(version, 7);
    assert_eq!(back, status);
}
