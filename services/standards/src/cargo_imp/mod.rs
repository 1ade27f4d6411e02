//! IATA Cargo-IMP FSU (freight status update) messages into air events, and back
//! (`docs/standards/cargo-imp.md`).
//!
//! A message is an optional Type B envelope (a priority and address line, then `.ORIGINATOR
//! DDHHMM`), the line `FSU/version`, the consignment detail (`784-12345675CGOLUX/T12K3400.5`)
//! and one or more status lines: `RCS/20NOV1030/CGO/T12K3400.5` at a station, or
//! `DEP/CZ0431/20NOV/CGOLUX/T12K3400.5/A0830` on a flight. Times are local and carry no year:
//! the year is the one nearest the context's reference time, the zone the source's.

pub mod write;

use crate::air::{self, AirReport};
use crate::outcome::{Context, MessageOutcome};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use kouan_model::*;
use std::sync::Arc;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Statuses read on a flight's line: their place is the arrival airport for these, the
/// departure airport for the others.
const AT_DESTINATION: &[AirStatus] = &[AirStatus::Arr, AirStatus::Rcf];

/// Every FSU in `input`, in order.
pub fn parse(input: &[u8], context: &Context) -> Vec<MessageOutcome> {
    let text = String::from_utf8_lossy(input);
    let lines: Vec<&str> = text.lines().collect();
    let mut outcomes = Vec::new();
    let mut start = 0;
    let mut ordinal = 0;
    while start < lines.len() {
        if lines[start].trim().is_empty() || lines[start].trim() == "NNNN" {
            start += 1;
            continue;
        }
        // A message runs to the next envelope or FSU line after its own FSU line.
        let fsu_line = (start..lines.len()).find(|&i| lines[i].trim_start().starts_with("FSU/"));
        let end = match fsu_line {
            Some(fsu) => (fsu + 1..lines.len())
                .find(|&i| starts_message(&lines, i))
                .unwrap_or(lines.len()),
            None => lines.len(),
        };
        ordinal += 1;
        let raw = lines[start..end].join("\r\n").into_bytes();
        let reference = format!("FSU {ordinal} (line {})", start + 1);
        let mut outcome = MessageOutcome::new(reference.clone(), raw);
        message(
            &lines[start..end],
            start + 1,
            &reference,
            context,
            &mut outcome,
        );
        outcomes.push(outcome);
        start = end;
    }
    outcomes
}

fn starts_message(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim_start();
    line.starts_with("FSU/") || is_address_line(line) || line.trim() == "NNNN"
}

/// `QK CGOFMCZ …`: a Type B priority code and addresses.
fn is_address_line(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() >= 10
        && bytes[0] == b'Q'
        && bytes[1].is_ascii_uppercase()
        && bytes[2] == b' '
        && line[3..]
            .split_whitespace()
            .all(|address| address.len() == 7)
}

struct Envelope {
    originator: String,
    /// Day of month, hour, minute.
    stamp: Option<(u32, u32, u32)>,
}

fn message(
    lines: &[&str],
    first_line: usize,
    reference: &str,
    context: &Context,
    outcome: &mut MessageOutcome,
) {
    let place =
        |offset: usize, what: &str| format!("{reference} line {} {what}", first_line + offset);
    let mut at = 0;
    let mut envelope = None;
    if is_address_line(lines[0].trim_start()) {
        let Some(origin) = lines
            .get(1)
            .map(|line| line.trim())
            .filter(|l| l.starts_with('.'))
        else {
            return outcome.items.push(Err(Reject::new(
                place(1, "envelope"),
                "the address line must be followed by `.ORIGINATOR DDHHMM`",
            )));
        };
        let mut words = origin[1..].split_whitespace();
        let originator = words.next().unwrap_or("").to_string();
        let stamp = words.next().and_then(|stamp| {
            let digits = stamp.get(..6)?;
            Some((
                digits.get(0..2)?.parse().ok()?,
                digits.get(2..4)?.parse().ok()?,
                digits.get(4..6)?.parse().ok()?,
            ))
        });
        if originator.len() != 7 {
            return outcome.items.push(Err(Reject::new(
                place(1, "envelope"),
                format!("{originator:?} is not a seven-character Type B address"),
            )));
        }
        envelope = Some(Envelope { originator, stamp });
        at = 2;
    }
    let Some(version_line) = lines.get(at).map(|line| line.trim()) else {
        return outcome.items.push(Err(Reject::new(
            place(at, "FSU"),
            "the message has no FSU/version line",
        )));
    };
    if !version_line.starts_with("FSU/") {
        return outcome.items.push(Err(Reject::new(
            place(at, "FSU"),
            format!("expected `FSU/version`, got {version_line:?}"),
        )));
    }
    let source: Arc<str> =
        match (&envelope, context.source) {
            (Some(envelope), _) => Arc::from(envelope.originator.as_str()),
            (None, Some(source)) => Arc::from(source),
            (None, None) => return outcome.items.push(Err(Reject::new(
                place(at, "FSU"),
                "no sender: the message has no Type B envelope and no source was given (kouan ingest --source, or ?source= on the HTTP intake)",
            ))),
        };
    let Some(consignment) = lines.get(at + 1).map(|line| line.trim()) else {
        return outcome.items.push(Err(Reject::new(
            place(at + 1, "consignment"),
            "the message has no consignment detail line",
        )));
    };
    let (awb, totals) = match consignment_line(consignment) {
        Ok(parsed) => parsed,
        Err(reason) => {
            return outcome
                .items
                .push(Err(Reject::new(place(at + 1, "consignment"), reason)))
        }
    };
    let statuses = &lines[at + 2..];
    if statuses.iter().all(|line| line.trim().is_empty()) {
        return outcome.items.push(Err(Reject::new(
            place(at + 1, "consignment"),
            "the message has no status line",
        )));
    }
    for (offset, line) in statuses.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let code = line.split('/').next().unwrap_or("");
        let where_ = place(at + 2 + offset, code);
        match status_line(line, &awb, totals, &source, envelope.as_ref(), context) {
            Ok(event) => outcome.push_checked(event, &where_),
            Err(reason) => outcome.items.push(Err(Reject::new(where_, reason))),
        }
    }
}

type Totals = (Option<u32>, Option<f64>);

/// `784-12345675CGOLUX/T12K3400.5`
fn consignment_line(line: &str) -> Result<(String, Totals), String> {
    let mut fields = line.split('/');
    let head = fields.next().unwrap_or("");
    let awb = head
        .get(..12)
        .ok_or_else(|| format!("{head:?} does not start with an air waybill number"))?;
    ids::check_awb(awb).map_err(|reason| format!("air waybill {awb}: {reason}"))?;
    let totals = match fields.next() {
        Some(quantity) => quantity_of(quantity)?,
        None => (None, None),
    };
    Ok((awb.to_string(), totals))
}

/// `T12K3400.5`: pieces, then weight in kilograms (K) or pounds (L).
fn quantity_of(field: &str) -> Result<Totals, String> {
    let Some(rest) = field.strip_prefix('T') else {
        return Err(format!("quantity {field:?} does not start with T (total)"));
    };
    let split = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let pieces = rest[..split]
        .parse::<u32>()
        .map_err(|_| format!("quantity {field:?} has no number of pieces"))?;
    let weight = match rest[split..].chars().next() {
        None => None,
        Some(unit @ ('K' | 'L')) => {
            let value: f64 = rest[split + 1..]
                .parse()
                .map_err(|_| format!("quantity {field:?} has no weight after {unit}"))?;
            Some(if unit == 'K' {
                value
            } else {
                value * 0.453_592_37
            })
        }
        Some(other) => return Err(format!("weight unit {other:?} is neither K nor L")),
    };
    Ok((Some(pieces), weight))
}

fn status_line(
    line: &str,
    awb: &str,
    totals: Totals,
    source: &Arc<str>,
    envelope: Option<&Envelope>,
    context: &Context,
) -> Result<Event, String> {
    let fields: Vec<&str> = line.split('/').collect();
    let status = AirStatus::from_code(fields[0]).ok_or_else(|| {
        format!(
            "status {:?} is not read ({})",
            fields[0],
            AirStatus::expected()
        )
    })?;
    let station_style = fields
        .get(1)
        .is_some_and(|f| f.len() == 9 && f.get(..5).and_then(day_month).is_some());
    let (local, station, flight, quantity, classifier) = if station_style {
        // CODE/DDMMMHHMM/STN[/quantity]
        let local = date_time(fields[1], context)?;
        let station = fields.get(2).copied().ok_or("the station is missing")?;
        (local, station, None, fields.get(3).copied(), None)
    } else {
        // CODE/FLIGHT/DDMMM/ORGDST[/quantity][/A|E|S time]
        let number = fields
            .get(1)
            .copied()
            .filter(|f| !f.is_empty())
            .ok_or("the flight is missing")?;
        let date_field = fields.get(2).copied().ok_or("the flight date is missing")?;
        let (day, month) = day_month(date_field)
            .ok_or_else(|| format!("flight date {date_field:?} is not DDMMM"))?;
        let airports = fields
            .get(3)
            .copied()
            .filter(|f| f.len() == 6)
            .ok_or("the airports (ORGDST) are missing")?;
        let (origin, destination) = airports.split_at(3);
        let time_field = fields
            .get(5)
            .copied()
            .or(fields.get(4).copied().filter(|f| !f.starts_with('T')));
        let quantity = fields.get(4).copied().filter(|f| f.starts_with('T'));
        let time_field =
            time_field.ok_or("the time of the status (A, E or S and HHMM) is missing")?;
        let classifier = match time_field.chars().next() {
            Some('A') => None,
            Some('E') => Some(Classifier::Est),
            Some('S') => Some(Classifier::Pln),
            _ => return Err(format!("time {time_field:?} does not start with A, E or S")),
        };
        let flight_date = nearest_date(day, month, context)?;
        let local = match time_field.len() {
            5 => flight_date.and_time(hhmm(&time_field[1..])?),
            10 => date_time(&time_field[1..], context)?,
            _ => {
                return Err(format!(
                    "time {time_field:?} is neither A/E/S HHMM nor DDMMMHHMM"
                ))
            }
        };
        let station = if AT_DESTINATION.contains(&status) {
            destination
        } else {
            origin
        };
        (
            local,
            station,
            Some((number, flight_date)),
            quantity,
            classifier,
        )
    };
    let event_time = context.zones.resolve(source, local)?;
    let (pieces, weight_kg) = match quantity {
        Some(field) => quantity_of(field)?,
        None => totals,
    };
    let recorded_time = match envelope.and_then(|envelope| envelope.stamp) {
        Some((day, hour, minute)) => {
            Some(envelope_time(day, hour, minute, local, source, context)?)
        }
        None => None,
    };
    air::event(AirReport {
        source: source.clone(),
        awb,
        status,
        station,
        flight,
        event_time,
        recorded_time,
        classifier,
        pieces,
        weight_kg,
        retracted: false,
    })
}

fn day_month(field: &str) -> Option<(u32, u32)> {
    let day: u32 = field.get(..2)?.parse().ok()?;
    let month = MONTHS.iter().position(|m| Some(*m) == field.get(2..5))? as u32 + 1;
    Some((day, month))
}

fn hhmm(field: &str) -> Result<NaiveTime, String> {
    let parsed = (field.len() == 4)
        .then(|| {
            NaiveTime::from_hms_opt(
                field.get(..2)?.parse().ok()?,
                field.get(2..)?.parse().ok()?,
                0,
            )
        })
        .flatten();
    parsed.ok_or_else(|| format!("{field:?} is not a time HHMM"))
}

/// `20NOV1030`, in the year nearest the reference time.
fn date_time(field: &str, context: &Context) -> Result<NaiveDateTime, String> {
    let (day, month) = day_month(field).ok_or_else(|| format!("{field:?} is not DDMMMHHMM"))?;
    let date = nearest_date(day, month, context)?;
    Ok(date.and_time(hhmm(field.get(5..).unwrap_or(""))?))
}

/// The date with this day and month nearest the reference time (a year's dates are within six
/// months of it).
fn nearest_date(day: u32, month: u32, context: &Context) -> Result<NaiveDate, String> {
    let reference = context.reference_time.to_datetime().date_naive();
    let year = reference.year();
    [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .min_by_key(|date| (*date - reference).num_days().abs())
        .ok_or_else(|| format!("day {day} of month {month} is not a date"))
}

/// The envelope's `DDHHMM`: the day of month nearest the status's own local time.
fn envelope_time(
    day: u32,
    hour: u32,
    minute: u32,
    near: NaiveDateTime,
    source: &str,
    context: &Context,
) -> Result<Timestamp, String> {
    let time = NaiveTime::from_hms_opt(hour, minute, 0)
        .ok_or_else(|| format!("envelope time {hour:02}{minute:02} is not a time"))?;
    let base = near.date();
    let first = base.with_day(1).unwrap_or(base);
    let months = [
        first.checked_sub_months(chrono::Months::new(1)),
        Some(first),
        first.checked_add_months(chrono::Months::new(1)),
    ];
    let candidate = months
        .into_iter()
        .flatten()
        .filter_map(|month| NaiveDate::from_ymd_opt(month.year(), month.month(), day))
        .min_by_key(|date| (*date - base).num_days().abs())
        .ok_or_else(|| format!("envelope day {day} is not a day of a month"))?;
    context.zones.resolve(source, candidate.and_time(time))
}
