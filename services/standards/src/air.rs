//! One air status as every air standard reports it (Cargo-IMP FSU, Cargo-XML XFSU, ONE Record):
//! a waybill, a status code, a station, maybe a flight, a time — made into an air event the same
//! way for all three, so that one status sent in any of them is the same event.

use crate::stations;
use chrono::NaiveDate;
use kouan_model::*;
use std::sync::Arc;

/// What an air standard says about one status of one waybill.
#[derive(Debug, Clone)]
pub struct AirReport<'a> {
    pub source: Arc<str>,
    pub awb: &'a str,
    pub status: AirStatus,
    /// IATA airport code of the place of the status.
    pub station: &'a str,
    /// The flight number and its date (the local date of its scheduled departure).
    pub flight: Option<(&'a str, NaiveDate)>,
    pub event_time: Timestamp,
    pub recorded_time: Option<Timestamp>,
    pub classifier: Option<Classifier>,
    pub pieces: Option<u32>,
    pub weight_kg: Option<f64>,
    pub retracted: bool,
}

/// The event contract's flight reference: `NUMBER-YYYYMMDD`.
pub fn flight_reference(number: &str, date: NaiveDate) -> String {
    format!("{number}-{}", date.format("%Y%m%d"))
}

/// The flight number and date of a flight reference (`None` when it is not `NUMBER-YYYYMMDD`).
pub fn flight_parts(reference: &str) -> Option<(&str, NaiveDate)> {
    let (number, date) = reference.rsplit_once('-')?;
    Some((number, NaiveDate::parse_from_str(date, "%Y%m%d").ok()?))
}

/// The air event of a report; the event id is `AWB/STATUS/FLIGHT` for a status on a flight and
/// `AWB/STATUS/STATION` otherwise, so the same status re-sent is a later version of one event.
pub fn event(report: AirReport<'_>) -> Result<Event, String> {
    let place = stations::by_iata(report.station).ok_or_else(|| {
        format!(
            "station {:?} is not in kouan's station table (docs/standards/cargo-imp.md)",
            report.station
        )
    })?;
    ids::check_awb(report.awb).map_err(|reason| format!("air waybill {}: {reason}", report.awb))?;
    let flight = report
        .flight
        .map(|(number, date)| flight_reference(number, date));
    // as `name_of` names it
    let event_id = format!(
        "{}/{}/{}",
        report.awb,
        report.status.code(),
        flight.as_deref().unwrap_or(report.station)
    );
    Ok(Event {
        event_id: event_id.into(),
        source: report.source,
        event_time: report.event_time,
        recorded_time: report.recorded_time,
        classifier: report.classifier,
        location: Some(Arc::new(Location {
            unlocode: place.unlocode.to_string(),
            facility: Some(place.facility.to_string()),
            name: None,
        })),
        retracted: report.retracted,
        body: Body::Air(AirBody {
            status: report.status,
            awb: report.awb.into(),
            flight: flight.map(Id::from),
            pieces: report.pieces,
            weight_kg: report.weight_kg,
        }),
    })
}

/// The name the air standards give an air event: `AWB/STATUS/FLIGHT`, or `AWB/STATUS/STATION`
/// for a status at a station (`None` for other events, or places outside the station table).
pub fn name_of(event: &Event) -> Option<String> {
    let Body::Air(body) = &event.body else {
        return None;
    };
    let place = match &body.flight {
        Some(flight) => flight.to_string(),
        None => station_of(event)?.iata.to_string(),
    };
    Some(format!("{}/{}/{place}", body.awb, body.status.code()))
}

/// The station (IATA) an air event took place at, when it is one of the table's airports with
/// its cargo terminal (the writers say only what comes back the same).
pub fn station_of(event: &Event) -> Option<&'static stations::Station> {
    let location = event.location.as_ref()?;
    let station = stations::by_unlocode(&location.unlocode)?;
    (location.facility.as_deref() == Some(station.facility) && location.name.is_none())
        .then_some(station)
}
