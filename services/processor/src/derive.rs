//! The fields of the status record from the events of one shipment (STATUS.md, "Fields").

use crate::belonging::{is_actual, latest_booking, order_key};
use kouan_model::*;
use kouan_model::{MilestoneRef, Status, StatusRef};

/// Derives the record of `shipment_id` from its events, already in STATUS.md's order.
pub fn derive(shipment_id: &str, events: &[&Event]) -> Status {
    derive_ref(shipment_id, events).to_owned()
}

/// [`derive`], borrowing the record's text from the events: what the runner encodes and
/// compares with what it published, without copying it.
pub fn derive_ref<'a>(shipment_id: &'a str, events: &[&'a Event]) -> StatusRef<'a> {
    let direct: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|event| {
            matches!(
                event.body,
                Body::Shipment(_) | Body::Air(_) | Body::Customs(_)
            )
        })
        .collect();
    let booking = latest_booking(&direct).map(|(_, body)| body);
    let origin = booking.and_then(|b| b.origin.as_deref());
    let destination = booking.and_then(|b| b.destination.as_deref());
    let port_of_entry = booking.and_then(|b| b.port_of_entry.as_deref().or(destination));
    let direction = booking.and_then(|b| b.direction);
    let arrival_place = if direction == Some(Direction::Import) {
        port_of_entry
    } else {
        destination
    };
    let at = |event: &Event, place: &Option<&str>| {
        place.is_some() && event.location.as_ref().map(|l| l.unlocode.as_str()) == *place
    };
    let actual: Vec<&Event> = events.iter().copied().filter(|e| is_actual(e)).collect();
    // events come in order, so the first match is the earliest (equal instants: by source, id)
    let earliest =
        |test: &dyn Fn(&Event) -> bool| actual.iter().find(|e| test(e)).map(|e| e.event_time);
    let air = |event: &Event, statuses: &[AirStatus]| matches!(&event.body, Body::Air(a) if statuses.contains(&a.status));
    let equipment = |event: &Event, kind: EquipmentEventType| matches!(&event.body, Body::Equipment(e) if e.kind == kind && e.empty_indicator == EmptyIndicator::Laden);
    let transport = |event: &Event, kind: TransportEventType| matches!(&event.body, Body::Transport(t) if t.kind == kind);
    let customs = |event: &Event, statuses: &[CustomsStatus]| matches!(&event.body, Body::Customs(c) if statuses.contains(&c.status));

    let booked_at = earliest(&|e| {
        matches!(&e.body, Body::Shipment(s) if s.kind == ShipmentEventType::Booked)
            || air(e, &[AirStatus::Bkd])
    });
    let received_at = earliest(&|e| {
        air(e, &[AirStatus::Rcs, AirStatus::Foh])
            || (equipment(e, EquipmentEventType::Gtin) && at(e, &origin))
    });
    let departed_at =
        earliest(&|e| air(e, &[AirStatus::Dep]) || transport(e, TransportEventType::Departed));
    let arrived_at = earliest(&|e| {
        (air(e, &[AirStatus::Arr, AirStatus::Rcf]) || transport(e, TransportEventType::Arrived))
            && at(e, &arrival_place)
    });
    let delivered_at = earliest(&|e| {
        air(e, &[AirStatus::Dlv]) || (equipment(e, EquipmentEventType::Gtot) && at(e, &destination))
    });
    let declared_at = earliest(&|e| {
        customs(
            e,
            &[CustomsStatus::Declared, CustomsStatus::SummaryDeclared],
        )
    });

    // customs: the latest by event time, ties to the higher rank (then the order key)
    let latest_customs = actual
        .iter()
        .filter_map(|e| match &e.body {
            Body::Customs(c) => Some((*e, c.status)),
            _ => None,
        })
        .max_by(|(a, a_status), (b, b_status)| {
            (a.event_time, *a_status, order_key(a)).cmp(&(b.event_time, *b_status, order_key(b)))
        });
    let customs_status =
        latest_customs.map_or(CustomsState::NotDeclared, |(_, status)| status.state());
    let latest_of = |status: CustomsStatus| {
        actual
            .iter()
            .rev()
            .find(|e| customs(e, &[status]))
            .map(|e| e.event_time)
    };
    let released_at = if customs_status == CustomsState::Released {
        latest_of(CustomsStatus::Released).or_else(|| latest_of(CustomsStatus::Closed))
    } else {
        None
    };
    let inspected = actual.iter().any(|e| {
        customs(
            e,
            &[CustomsStatus::InspectionNotice, CustomsStatus::Inspected],
        )
    });

    let latest_shipment_event = actual
        .iter()
        .rev()
        .find(|e| matches!(e.body, Body::Shipment(_)));
    let cancelled = matches!(latest_shipment_event.map(|e| &e.body),
        Some(Body::Shipment(s)) if s.kind == ShipmentEventType::Cancelled);
    let moved_after_departure = departed_at.is_some_and(|departed| {
        actual.iter().any(|e| {
            matches!(
                e.body,
                Body::Transport(_) | Body::Equipment(_) | Body::Air(_)
            ) && e.event_time > departed
        })
    });
    let transport_stage = if cancelled {
        TransportStage::Cancelled
    } else if delivered_at.is_some() {
        TransportStage::Delivered
    } else if arrived_at.is_some() {
        TransportStage::Arrived
    } else if moved_after_departure {
        TransportStage::InTransit
    } else if departed_at.is_some() {
        TransportStage::Departed
    } else if received_at.is_some() {
        TransportStage::Received
    } else {
        TransportStage::Booked
    };

    let import = direction == Some(Direction::Import);
    let advance_declared = match (import, declared_at) {
        (true, Some(declared)) => Some(arrived_at.is_none_or(|arrived| declared < arrived)),
        _ => None,
    };
    let hours = |from: Timestamp, to: Timestamp| {
        let millis = (to.unix_millis() - from.unix_millis()) as f64;
        (millis / 3_600_000.0 * 100.0).round() / 100.0
    };
    let clearance_hours = match (direction, released_at) {
        (Some(Direction::Import), Some(released)) => {
            arrived_at.map(|arrived| hours(arrived, released).max(0.0))
        }
        (Some(Direction::Export), Some(released)) => {
            declared_at.map(|declared| hours(declared, released))
        }
        _ => None,
    };

    let eta = events
        .iter()
        .filter(|e| e.classifier() == Classifier::Est)
        .filter(|e| {
            (air(e, &[AirStatus::Arr, AirStatus::Rcf]) || transport(e, TransportEventType::Arrived))
                && at(e, &arrival_place)
        })
        .max_by(|a, b| (a.recorded_time(), order_key(a)).cmp(&(b.recorded_time(), order_key(b))))
        .map(|e| e.event_time);

    let movements: Vec<&Event> = actual
        .iter()
        .copied()
        .filter(|e| e.body.is_movement() && e.location.is_some())
        .collect();
    let last_location = movements.last().and_then(|e| e.location.as_deref());
    let dwell_since = last_location.as_ref().map(|last| {
        let mut since = movements.last().expect("a last movement").event_time;
        for event in movements.iter().rev() {
            if event.location.as_ref().map(|l| &l.unlocode) != Some(&last.unlocode) {
                break;
            }
            since = event.event_time;
        }
        since
    });

    let milestones = events
        .iter()
        .map(|e| MilestoneRef {
            code: e.body.code(),
            event_time: e.event_time,
            classifier: e.classifier(),
            location: e.location.as_deref(),
            source: &e.source,
            event_id: &e.event_id,
            recorded_time: e.recorded_time,
            unit: match &e.body {
                Body::Equipment(b) => Some(b.equipment_reference.as_str()),
                _ => None,
            },
            empty_indicator: match &e.body {
                Body::Equipment(b) => Some(b.empty_indicator),
                _ => None,
            },
            conveyance: match &e.body {
                Body::Equipment(b) => b.transport.as_ref().map(|t| (t.mode, t.reference.as_str())),
                Body::Transport(b) => Some((b.mode, b.reference.as_str())),
                Body::Air(b) => b.flight.as_deref().map(|f| (TransportMode::Air, f)),
                Body::Shipment(_) | Body::Customs(_) => None,
            },
            declaration: match &e.body {
                Body::Customs(b) => Some(b.declaration_number.as_str()),
                _ => None,
            },
        })
        .collect();

    StatusRef {
        shipment_id,
        document_type: booking.and_then(|b| b.document_type),
        shipper: booking.and_then(|b| b.shipper.as_deref()),
        mode: booking.and_then(|b| b.mode),
        direction,
        origin,
        destination,
        port_of_entry,
        units: booking.map_or(&[][..], |b| &b.units),
        booked_at,
        received_at,
        departed_at,
        arrived_at,
        delivered_at,
        declared_at,
        customs_status,
        released_at,
        inspected,
        transport_stage,
        advance_declared,
        clearance_hours,
        eta,
        last_location,
        dwell_since,
        milestones,
    }
}
