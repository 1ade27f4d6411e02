//! Air events as FSU messages, each in its Type B envelope (the simulator's Cargo-IMP output).

use super::MONTHS;
use crate::stations;
use chrono::{Datelike, Timelike};
use chrono_tz::Tz;
use kouan_model::*;
use std::collections::HashMap;

/// Each flight's departure and arrival airports (IATA), learned from the air events that name
/// them: a status line names both ends of its flight, an event only its own.
#[derive(Debug, Default, Clone)]
pub struct FlightLegs {
    legs: HashMap<String, (Option<&'static str>, Option<&'static str>)>,
}

impl FlightLegs {
    pub fn learn(&mut self, event: &Event) {
        let Body::Air(air) = &event.body else { return };
        let (Some(flight), Some(location)) = (&air.flight, &event.location) else {
            return;
        };
        let Some(station) = stations::by_unlocode(&location.unlocode) else {
            return;
        };
        let entry = self.legs.entry(flight.to_string()).or_default();
        if super::AT_DESTINATION.contains(&air.status) {
            entry.1 = Some(station.iata);
        } else {
            entry.0 = Some(station.iata);
        }
    }

    fn ends(&self, flight: &str) -> Option<(&'static str, &'static str)> {
        match self.legs.get(flight)? {
            (Some(origin), Some(destination)) => Some((origin, destination)),
            _ => None,
        }
    }
}

/// The FSU of one air event, sent by `originator` whose clock reads `zone`; `None` when the
/// event is not one an FSU can say (not an air event, a retraction, a place outside the station
/// table, an estimate without a flight, a flight whose ends are unknown).
pub fn fsu(event: &Event, originator: &str, zone: Tz, legs: &FlightLegs) -> Option<String> {
    let Body::Air(air) = &event.body else {
        return None;
    };
    if event.retracted {
        return None;
    }
    let station = crate::air::station_of(event)?;
    let local = event.event_time.to_datetime().with_timezone(&zone);
    let recorded = event.recorded_time().to_datetime().with_timezone(&zone);
    if local.second() != 0 || recorded.second() != 0 || event.event_time.subsec_nanos() != 0 {
        // Cargo-IMP times are minutes; the event would not come back the same
        return None;
    }
    let quantity = match (air.pieces, air.weight_kg) {
        (Some(pieces), Some(weight)) => format!("/T{pieces}K{weight}"),
        (Some(pieces), None) => format!("/T{pieces}"),
        (None, None) => String::new(),
        (None, Some(_)) => return None,
    };
    let date_time = |at: &chrono::DateTime<Tz>| {
        format!(
            "{:02}{}{:02}{:02}",
            at.day(),
            MONTHS[at.month0() as usize],
            at.hour(),
            at.minute()
        )
    };
    let status_line = match &air.flight {
        None => {
            if event.classifier() != Classifier::Act {
                return None;
            }
            format!(
                "{}/{}/{}{quantity}",
                air.status.code(),
                date_time(&local),
                station.iata
            )
        }
        Some(flight) => {
            let (number, flight_date) = crate::air::flight_parts(flight)?;
            let (origin, destination) = legs.ends(flight)?;
            let own = if super::AT_DESTINATION.contains(&air.status) {
                destination
            } else {
                origin
            };
            if own != station.iata {
                return None;
            }
            let indicator = match event.classifier() {
                Classifier::Act => 'A',
                Classifier::Est => 'E',
                Classifier::Pln => 'S',
            };
            let time = if local.date_naive() == flight_date {
                format!("{:02}{:02}", local.hour(), local.minute())
            } else {
                date_time(&local)
            };
            format!(
                "{}/{number}/{:02}{}/{origin}{destination}{quantity}/{indicator}{time}",
                air.status.code(),
                flight_date.day(),
                MONTHS[flight_date.month0() as usize],
            )
        }
    };
    let consignment = format!("{}{}{}", air.awb, station.iata, station.iata);
    Some(format!(
        "QK KOUANXH\r\n.{originator} {:02}{:02}{:02}\r\nFSU/16\r\n{consignment}{quantity}\r\n{status_line}\r\n",
        recorded.day(),
        recorded.hour(),
        recorded.minute()
    ))
}
