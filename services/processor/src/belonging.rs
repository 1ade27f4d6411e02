//! Which events belong to a shipment (STATUS.md rules 2–7), given the candidate events: the
//! shipment's direct events, every equipment event of each unit that might be linked to it, and
//! every transport event of each conveyance those units or its AWB might have been on.
//!
//! Both the reference and the streaming engine call this with their candidates; they differ in
//! how they find the candidates (a scan of everything, or indexes kept up to date).

use kouan_model::*;
use std::collections::{BTreeMap, BTreeSet};

/// Events in STATUS.md's order (rule 8): (`eventTime`, `source`, `eventId`).
pub fn order_key(event: &Event) -> (Timestamp, &str, &str) {
    (event.event_time, &event.source, &event.event_id)
}

pub fn is_actual(event: &Event) -> bool {
    event.classifier() == Classifier::Act
}

/// Everything that might concern one shipment.
pub struct Candidates<'a, 'f> {
    /// `shipment`, `air` and `customs` events naming the shipment.
    pub direct: Vec<&'a Event>,
    /// Every equipment event of each unit in one of its bookings or in a STUF/STRP naming it.
    pub units: BTreeMap<&'a str, Vec<&'a Event>>,
    /// The transport events of a conveyance; asked only for the conveyances a linked unit can
    /// have been on during its link (a reused container's older trains are never asked for).
    pub conveyance_events: &'f dyn Fn(&str) -> Vec<&'a Event>,
}

/// A closed interval of event time; `None` as end is open-ended.
type Interval = (Timestamp, Option<Timestamp>);

fn within(intervals: &[Interval], time: Timestamp) -> bool {
    intervals
        .iter()
        .any(|(start, end)| *start <= time && end.is_none_or(|end| time <= end))
}

fn names_shipment(equipment: &EquipmentBody, shipment_id: &str) -> bool {
    matches!(
        equipment.kind,
        EquipmentEventType::Stuf | EquipmentEventType::Strp
    ) && equipment.shipment_ids.iter().any(|id| id == shipment_id)
}

/// The booking whose fields the status shows: `BOOKED`/`UPDATED` (ACT) with the latest event time
/// (ties by the order key).
pub fn latest_booking<'a>(direct: &[&'a Event]) -> Option<(&'a Event, &'a ShipmentBody)> {
    bookings(direct).max_by(|a, b| order_key(a.0).cmp(&order_key(b.0)))
}

fn bookings<'a, 'b>(
    direct: &'b [&'a Event],
) -> impl Iterator<Item = (&'a Event, &'a ShipmentBody)> + 'b {
    direct.iter().filter_map(|event| match &event.body {
        Body::Shipment(body)
            if is_actual(event)
                && matches!(
                    body.kind,
                    ShipmentEventType::Booked | ShipmentEventType::Updated
                ) =>
        {
            Some((*event, &**body))
        }
        _ => None,
    })
}

/// Rule 3: when unit `unit` (whose equipment events are `unit_events`) is linked to the shipment.
fn link_intervals(
    shipment_id: &str,
    direct: &[&Event],
    unit: &str,
    unit_events: &[&Event],
) -> Vec<Interval> {
    let mut named: Vec<(&Event, &EquipmentBody)> = unit_events
        .iter()
        .filter(|event| is_actual(event))
        .filter_map(|event| match &event.body {
            Body::Equipment(body) if names_shipment(body, shipment_id) => Some((*event, body)),
            _ => None,
        })
        .collect();
    if !named.is_empty() {
        named.sort_by(|a, b| order_key(a.0).cmp(&order_key(b.0)));
        let mut intervals = Vec::new();
        for (index, (event, body)) in named.iter().enumerate() {
            if body.kind != EquipmentEventType::Stuf {
                continue;
            }
            let closing = named[index + 1..]
                .iter()
                .find(|(_, later)| later.kind == EquipmentEventType::Strp)
                .map(|(strp, _)| strp.event_time);
            intervals.push((event.event_time, closing));
        }
        return intervals;
    }
    let Some((_, booking)) = latest_booking(direct) else {
        return Vec::new();
    };
    if !booking.units.iter().any(|booked| booked == unit) {
        return Vec::new();
    }
    let start = bookings(direct)
        .map(|(event, _)| event.event_time)
        .min()
        .expect("a latest booking exists");
    let destination = booking.destination.as_deref();
    let end = unit_events
        .iter()
        .filter(|event| is_actual(event) && event.event_time >= start)
        .filter(|event| {
            event.location.as_ref().map(|l| l.unlocode.as_str()) == destination
                && matches!(&event.body, Body::Equipment(body)
                    if body.kind == EquipmentEventType::Gtot && body.empty_indicator == EmptyIndicator::Laden)
        })
        .min_by(|a, b| order_key(a).cmp(&order_key(b)))
        .map(|event| event.event_time);
    vec![(start, end)]
}

/// Rule 4: the unit is on `conveyance` at `time`.
fn on_conveyance(unit_events: &[&Event], conveyance: &str, time: Timestamp) -> bool {
    let loads_and_discharges = unit_events
        .iter()
        .filter(|event| is_actual(event))
        .filter_map(|event| match &event.body {
            Body::Equipment(body) => match (body.kind, &body.transport) {
                (EquipmentEventType::Load | EquipmentEventType::Disc, Some(transport)) => {
                    Some((*event, body.kind, transport.reference.as_str()))
                }
                _ => None,
            },
            _ => None,
        });
    let mut latest_load: Option<&Event> = None;
    let mut candidates = Vec::new();
    for (event, kind, reference) in loads_and_discharges {
        if kind == EquipmentEventType::Load
            && event.event_time <= time
            && latest_load.is_none_or(|load| order_key(event) > order_key(load))
        {
            latest_load = Some(event);
        }
        candidates.push((event, kind, reference));
    }
    let Some(load) = latest_load else {
        return false;
    };
    let Body::Equipment(EquipmentBody {
        transport: Some(loaded_onto),
        ..
    }) = &load.body
    else {
        unreachable!("a LOAD with a transport");
    };
    if loaded_onto.reference != conveyance {
        return false;
    }
    !candidates.iter().any(|(event, kind, reference)| {
        *kind == EquipmentEventType::Disc
            && *reference == conveyance
            && event.event_time >= load.event_time
            && event.event_time < time
    })
}

/// The conveyances a unit can be on at some time within `intervals` (rule 4 looks at the latest
/// LOAD at or before that time): the latest LOAD at or before each interval's start, and every
/// LOAD inside it.
fn conveyances_during<'a>(unit_events: &[&'a Event], intervals: &[Interval]) -> BTreeSet<&'a str> {
    let mut loads: Vec<(&Event, &str)> = unit_events
        .iter()
        .filter(|event| is_actual(event))
        .filter_map(|event| match &event.body {
            Body::Equipment(EquipmentBody {
                kind: EquipmentEventType::Load,
                transport: Some(transport),
                ..
            }) => Some((*event, transport.reference.as_str())),
            _ => None,
        })
        .collect();
    loads.sort_by(|a, b| order_key(a.0).cmp(&order_key(b.0)));
    let mut found = BTreeSet::new();
    for (start, end) in intervals {
        if let Some((_, conveyance)) = loads
            .iter()
            .rev()
            .find(|(load, _)| load.event_time <= *start)
        {
            found.insert(*conveyance);
        }
        found.extend(
            loads
                .iter()
                .filter(|(load, _)| {
                    load.event_time > *start && end.is_none_or(|end| load.event_time <= end)
                })
                .map(|(_, conveyance)| *conveyance),
        );
    }
    found
}

/// Every event of the shipment, in STATUS.md's order.
pub fn belonging<'a>(shipment_id: &str, candidates: &Candidates<'a, '_>) -> Vec<&'a Event> {
    belonging_and_reach(shipment_id, candidates).0
}

/// The events of the shipment, and how far in event time its unit links reach (Unix ms; `i64::MAX`
/// when a link is open-ended, `i64::MIN` when no unit is linked). An equipment or transport
/// event later than the reach, not naming the shipment, cannot change its record: it is outside
/// every link interval, cannot be an earlier interval-closing GTOT, and cannot change which
/// conveyance a unit was on inside an interval.
pub fn belonging_and_reach<'a>(
    shipment_id: &str,
    candidates: &Candidates<'a, '_>,
) -> (Vec<&'a Event>, i64) {
    let mut events: Vec<&Event> = candidates.direct.clone();
    let mut linked: Vec<(&str, &[&Event], Vec<Interval>)> = Vec::new();
    for (unit, unit_events) in &candidates.units {
        let intervals = link_intervals(shipment_id, &candidates.direct, unit, unit_events);
        for event in unit_events {
            let Body::Equipment(body) = &event.body else {
                continue;
            };
            if names_shipment(body, shipment_id) || within(&intervals, event.event_time) {
                events.push(event);
            }
        }
        if !intervals.is_empty() {
            linked.push((unit, unit_events, intervals));
        }
    }
    let flights: BTreeSet<&str> = candidates
        .direct
        .iter()
        .filter(|event| is_actual(event))
        .filter_map(|event| match &event.body {
            Body::Air(air) if matches!(air.status, AirStatus::Man | AirStatus::Dep) => {
                air.flight.as_deref()
            }
            _ => None,
        })
        .collect();
    let mut conveyances: BTreeSet<&str> = flights.clone();
    for (_, unit_events, intervals) in &linked {
        conveyances.extend(conveyances_during(unit_events, intervals));
    }
    for conveyance in conveyances {
        let by_air = flights.contains(conveyance);
        for event in (candidates.conveyance_events)(conveyance) {
            let on_board = by_air
                || linked.iter().any(|(_, unit_events, intervals)| {
                    within(intervals, event.event_time)
                        && on_conveyance(unit_events, conveyance, event.event_time)
                });
            if on_board {
                events.push(event);
            }
        }
    }
    events.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    events.dedup_by(|a, b| std::ptr::eq(*a, *b));
    let reach = linked
        .iter()
        .flat_map(|(_, _, intervals)| intervals.iter())
        .map(|(_, end)| end.map_or(i64::MAX, |end| end.unix_millis()))
        .max()
        .unwrap_or(i64::MIN);
    (events, reach)
}
