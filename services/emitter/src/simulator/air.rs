//! A cargo flight between CGO and one of its lanes, with 5–30 air waybills on it: bookings,
//! Cargo iQ milestones (BKD RCS MAN DEP ARR RCF NFD DLV), flight-level departure and arrival, a
//! planned departure, revised arrival estimates, and customs at Zhengzhou.

use super::customs::{self, Declaration};
use super::network::{AirLane, Node, AIR_LANES, CGO, HS_CODES, SHIPPERS};
use super::wave::*;
use kouan_model::ids::make_awb;
use kouan_model::*;

pub fn flight(wave: &mut Wave<'_>, booked_from: i64) {
    let lanes: Vec<(AirLane, f64)> = AIR_LANES.iter().map(|lane| (*lane, lane.share)).collect();
    let lane = *wave.pick_weighted(&lanes);
    let export = wave.chance(0.55);
    let (origin, destination) = if export {
        (CGO, lane.airport)
    } else {
        (lane.airport, CGO)
    };
    let direction = if export {
        Direction::Export
    } else {
        Direction::Import
    };

    let planned_departure = booked_from + wave.uniform_ms(36 * HOUR, 96 * HOUR);
    let departure = planned_departure + wave.skewed_hours(0.4, 2.5);
    let block = (lane.block_hours * HOUR as f64) as i64;
    let planned_arrival = planned_departure + block;
    let arrival = departure + block + wave.uniform_ms(-20 * MINUTE, 40 * MINUTE);
    let number = wave.count(1000, 9999);
    let flight = format!(
        "{}{number:04}-{}",
        lane.designator,
        local_date(planned_departure, &origin)
    );

    let transport = |kind| {
        Body::Transport(TransportBody {
            kind,
            mode: TransportMode::Air,
            reference: flight.clone().into(),
        })
    };
    wave.forecast(
        Classifier::Pln,
        SOURCE_AIR_OPS,
        booked_from,
        planned_departure,
        Some(&origin),
        transport(TransportEventType::Departed),
    );
    wave.actual(
        SOURCE_AIR_OPS,
        departure,
        Some(&origin),
        transport(TransportEventType::Departed),
    );
    // arrival estimates: one at departure, revised mid-flight
    let first_estimate = planned_arrival + (departure - planned_departure);
    wave.forecast(
        Classifier::Est,
        SOURCE_AIR_OPS,
        departure + 5 * MINUTE,
        first_estimate,
        Some(&destination),
        transport(TransportEventType::Arrived),
    );
    let revised = arrival + wave.uniform_ms(-10 * MINUTE, 10 * MINUTE);
    wave.forecast(
        Classifier::Est,
        SOURCE_AIR_OPS,
        departure + block / 2,
        revised,
        Some(&destination),
        transport(TransportEventType::Arrived),
    );
    wave.actual(
        SOURCE_AIR_OPS,
        arrival,
        Some(&destination),
        transport(TransportEventType::Arrived),
    );

    let waybills = wave.count(5, 30);
    for _ in 0..waybills {
        wave.registry.next_awb_serial += 1;
        let awb = make_awb(lane.airline_prefix, wave.registry.next_awb_serial);
        let plan = Waybill {
            awb: &awb,
            flight: &flight,
            origin: &origin,
            destination: &destination,
            direction,
            booked_from,
            departure,
            arrival,
        };
        waybill(wave, &plan);
    }
}

struct Waybill<'a> {
    awb: &'a str,
    flight: &'a str,
    origin: &'a Node,
    destination: &'a Node,
    direction: Direction,
    booked_from: i64,
    departure: i64,
    arrival: i64,
}

fn waybill(wave: &mut Wave<'_>, w: &Waybill<'_>) {
    wave.shipments += 1;
    let shipper = *wave.pick(&SHIPPERS);
    let hs_code = *wave.pick(&HS_CODES);
    let pieces = wave.count(1, 60);
    let weight = (pieces as f64 * wave.uniform(8.0, 60.0) * 10.0).round() / 10.0;
    let booked = w.booked_from + wave.uniform_ms(0, 12 * HOUR);
    wave.actual(
        SOURCE_BOOKING,
        booked,
        None,
        Body::from(ShipmentBody {
            kind: ShipmentEventType::Booked,
            shipment_id: w.awb.to_string(),
            document_type: Some(DocumentType::Awb),
            shipper: Some(shipper.to_string()),
            mode: Some(ShipmentMode::Air),
            direction: Some(w.direction),
            origin: Some(w.origin.unlocode.to_string()),
            destination: Some(w.destination.unlocode.to_string()),
            port_of_entry: None,
            units: Vec::new(),
            pieces: Some(pieces),
            weight_kg: Some(weight),
            hs_code: Some(hs_code.to_string()),
        }),
    );
    let fsu = |status, flight: Option<&str>| {
        Body::Air(AirBody {
            status,
            awb: w.awb.to_string().into(),
            flight: flight.map(Id::from),
            pieces: Some(pieces),
            weight_kg: Some(weight),
        })
    };
    wave.actual(
        SOURCE_AIR_CARGO,
        booked + MINUTE,
        Some(w.origin),
        fsu(AirStatus::Bkd, None),
    );
    let received = w.departure - wave.uniform_ms(8 * HOUR, 30 * HOUR);
    let received = received.max(booked + HOUR);
    wave.actual(
        SOURCE_AIR_CARGO,
        received,
        Some(w.origin),
        fsu(AirStatus::Rcs, None),
    );

    let trouble = anomaly(wave, w.direction);
    if w.direction == Direction::Export {
        customs::declare(
            wave,
            &Declaration {
                shipment_id: w.awb,
                direction: w.direction,
                mode: ShipmentMode::Air,
                port: &CGO,
                anchor: w.departure,
                trouble: None,
            },
        );
        if trouble == Some(AlertKind::MissingMilestone) {
            // received but never manifested: offloaded and forgotten at the origin warehouse
            wave.anomaly(w.awb, w.origin, AlertKind::MissingMilestone, received);
            return;
        }
    }
    let manifested = w.departure - wave.uniform_ms(2 * HOUR, 5 * HOUR);
    wave.actual(
        SOURCE_AIR_CARGO,
        manifested,
        Some(w.origin),
        fsu(AirStatus::Man, Some(w.flight)),
    );
    let departed = w.departure + wave.uniform_ms(MINUTE, 10 * MINUTE);
    wave.actual(
        SOURCE_AIR_CARGO,
        departed,
        Some(w.origin),
        fsu(AirStatus::Dep, Some(w.flight)),
    );
    let arrived = w.arrival + wave.uniform_ms(MINUTE, 10 * MINUTE);
    wave.actual(
        SOURCE_AIR_CARGO,
        arrived,
        Some(w.destination),
        fsu(AirStatus::Arr, Some(w.flight)),
    );
    let checked_in = arrived + wave.skewed_hours(0.75, 1.5);
    wave.actual(
        SOURCE_AIR_CARGO,
        checked_in,
        Some(w.destination),
        fsu(AirStatus::Rcf, Some(w.flight)),
    );

    let mut release = i64::MIN;
    if w.direction == Direction::Import {
        release = customs::declare(
            wave,
            &Declaration {
                shipment_id: w.awb,
                direction: w.direction,
                mode: ShipmentMode::Air,
                port: &CGO,
                anchor: w.arrival,
                trouble: trouble.filter(|kind| *kind != AlertKind::MissingMilestone),
            },
        );
        if trouble == Some(AlertKind::MissingMilestone) {
            // checked in, then silence: the consignee is never notified
            wave.anomaly(
                w.awb,
                w.destination,
                AlertKind::MissingMilestone,
                checked_in,
            );
            return;
        }
    }
    // Cargo iQ expects NFD within 6 h of arrival; nearly all make it
    let notified = checked_in + wave.skewed_hours(0.5, 1.2);
    wave.actual(
        SOURCE_AIR_CARGO,
        notified,
        Some(w.destination),
        fsu(AirStatus::Nfd, None),
    );
    let delivered = notified.max(release + 30 * MINUTE) + wave.skewed_hours(6.0, 24.0);
    wave.actual(
        SOURCE_AIR_CARGO,
        delivered,
        Some(w.destination),
        fsu(AirStatus::Dlv, None),
    );
}

/// Which anomaly, if any, this waybill gets: exports may be forgotten at the origin; imports may
/// be held or rejected by customs or never notified.
fn anomaly(wave: &mut Wave<'_>, direction: Direction) -> Option<AlertKind> {
    if !wave.chance(wave.anomaly_rate) {
        return None;
    }
    if direction == Direction::Export {
        return Some(AlertKind::MissingMilestone);
    }
    Some(*wave.pick_weighted(&[
        (AlertKind::CustomsHold, 0.4),
        (AlertKind::MissingMilestone, 0.4),
        (AlertKind::CustomsRejected, 0.2),
    ]))
}
