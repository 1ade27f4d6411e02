//! The four message types kouan reads, over one shared reading of their segments: the header
//! (BGM's document code, number and function, the document's own time), and the event's time,
//! place, conveyance and references looked up from the innermost segment group outwards.

use super::codes::{self, Status};
use super::dates;
use super::interchange::Message;
use super::syntax::Segment;
use crate::outcome::{Context, MessageOutcome};
use kouan_model::*;
use std::sync::Arc;

/// BGM's message function (1225).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// 9: the first report of its events.
    Original,
    /// 5: replaces the document of the same number: a later version of each of its events.
    Replace,
    /// 1: cancels the document of the same number: each of its events is retracted.
    Cancel,
}

pub const FUNCTIONS: &[(&str, Function)] = &[
    ("9", Function::Original),
    ("5", Function::Replace),
    ("1", Function::Cancel),
];

pub struct Header<'a> {
    pub document: &'a str,
    pub number: &'a str,
    pub function: Function,
    pub recorded: Option<Timestamp>,
}

/// Reads `message` into `outcome`: one event per container (EQD group) or status, each taken or
/// rejected on its own.
pub fn read(message: &Message, context: &Context, outcome: &mut MessageOutcome) {
    let header = match header(message, context) {
        Ok(header) => header,
        Err(reject) => return outcome.items.push(Err(reject)),
    };
    match message.kind {
        "CODECO" | "COARRI" => equipment_report(message, &header, context, outcome),
        "IFTSTA" => status_report(message, &header, context, outcome),
        "CUSRES" => super::customs::read(message, &header, context, outcome),
        other => outcome.items.push(Err(message.reject(
            &message.segments[0],
            format!("message type {other:?} is not read (CODECO, COARRI, IFTSTA, CUSRES)"),
        ))),
    }
}

fn header<'a>(message: &'a Message, context: &Context) -> Result<Header<'a>, Reject> {
    let unh = &message.segments[0];
    let Some(bgm) = message
        .segments
        .get(1)
        .filter(|segment| segment.tag == "BGM")
    else {
        return Err(message.reject(unh, "the message needs BGM right after UNH"));
    };
    let document = bgm
        .get(0, 0)
        .ok_or_else(|| message.reject(bgm, "document name code (1001) is required"))?;
    let number = bgm
        .get(1, 0)
        .ok_or_else(|| message.reject(bgm, "document number (1004) is required"))?;
    let function = match bgm.get(2, 0) {
        None => Function::Original,
        Some(code) => codes::lookup(FUNCTIONS, code).ok_or_else(|| {
            message.reject(
                bgm,
                format!(
                    "message function {code:?} is not read ({})",
                    codes::codes(FUNCTIONS)
                ),
            )
        })?,
    };
    let body = scope(message.segments, &["EQD", "STS", "CNI", "UNT"]);
    let recorded = match find(&[body], "DTM", |dtm| {
        dtm.get(0, 0) == Some(codes::DOCUMENT_TIME)
    }) {
        Some(dtm) => Some(time_of(message, dtm, context)?),
        None => message.prepared,
    };
    Ok(Header {
        document,
        number,
        function,
        recorded,
    })
}

/// The segments of `group` before the first segment tagged one of `ends` (the group's own
/// segments, without its nested groups).
pub fn scope<'s>(group: &'s [Segment], ends: &[&str]) -> &'s [Segment] {
    let end = group
        .iter()
        .skip(1)
        .position(|segment| ends.contains(&segment.tag.as_str()))
        .map_or(group.len(), |offset| offset + 1);
    &group[..end]
}

/// Splits `segments` into groups each starting at a segment tagged `tag` (what precedes the
/// first one is not a group).
pub fn groups<'s>(segments: &'s [Segment], tag: &str) -> Vec<&'s [Segment]> {
    let starts: Vec<usize> = segments
        .iter()
        .enumerate()
        .filter(|(_, segment)| segment.tag == tag)
        .map(|(index, _)| index)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &start)| {
            let end = starts.get(n + 1).copied().unwrap_or(segments.len());
            &segments[start..end]
        })
        .collect()
}

/// The first segment tagged `tag` that satisfies `keep`, innermost scope first.
pub fn find<'s>(
    scopes: &[&'s [Segment]],
    tag: &str,
    keep: impl Fn(&Segment) -> bool,
) -> Option<&'s Segment> {
    scopes.iter().find_map(|scope| {
        scope
            .iter()
            .find(|segment| segment.tag == tag && keep(segment))
    })
}

fn time_of(message: &Message, dtm: &Segment, context: &Context) -> Result<Timestamp, Reject> {
    let value = dtm
        .get(0, 1)
        .ok_or_else(|| message.reject(dtm, "date/time value (2380) is required"))?;
    dates::read(value, dtm.get(0, 2), message.sender, context.zones)
        .map_err(|reason| message.reject(dtm, reason))
}

/// The event's time and what it says about it (actual or estimated), innermost scope first.
pub fn event_time(
    message: &Message,
    scopes: &[&[Segment]],
    context: &Context,
    anchor: &Segment,
) -> Result<(Timestamp, Option<Classifier>), Reject> {
    let dtm = find(scopes, "DTM", |dtm| {
        dtm.get(0, 0).is_some_and(|qualifier| {
            codes::ACTUAL_TIMES.contains(&qualifier) || codes::ESTIMATED_TIMES.contains(&qualifier)
        })
    })
    .ok_or_else(|| {
        message.reject(
            anchor,
            format!(
                "no event date/time: DTM with qualifier {} (actual) or {} (estimated)",
                codes::ACTUAL_TIMES.join("/"),
                codes::ESTIMATED_TIMES.join("/")
            ),
        )
    })?;
    let at = time_of(message, dtm, context)?;
    let estimated = dtm
        .get(0, 0)
        .is_some_and(|qualifier| codes::ESTIMATED_TIMES.contains(&qualifier));
    Ok((at, estimated.then_some(Classifier::Est)))
}

/// The place: the first LOC with a location code, innermost scope first (a stowage cell, 147,
/// is not a place).
pub fn location(scopes: &[&[Segment]]) -> Option<Location> {
    find(scopes, "LOC", |loc| {
        loc.get(0, 0) != Some("147") && loc.get(1, 0).is_some()
    })
    .map(|loc| Location {
        unlocode: loc.get(1, 0).unwrap_or_default().to_string(),
        facility: loc.get(2, 0).map(str::to_string),
        name: None,
    })
}

/// The conveyance of TDT, innermost scope first: its mode (C220) and its reference — the
/// conveyance reference number (8028, the voyage, train or flight) or else the transport
/// means' identification (C222).
pub fn conveyance(
    message: &Message,
    scopes: &[&[Segment]],
) -> Result<Option<TransportRef>, Reject> {
    let Some(tdt) = find(scopes, "TDT", |_| true) else {
        return Ok(None);
    };
    let mode_code = tdt
        .get(2, 0)
        .ok_or_else(|| message.reject(tdt, "mode of transport (C220 8067) is required"))?;
    let mode = codes::lookup(codes::MODES, mode_code).ok_or_else(|| {
        message.reject(
            tdt,
            format!(
                "mode of transport {mode_code:?} is not read ({})",
                codes::codes(codes::MODES)
            ),
        )
    })?;
    let reference = tdt.get(1, 0).or_else(|| tdt.get(7, 0)).ok_or_else(|| {
        message.reject(
            tdt,
            "the conveyance needs its reference number (8028) or identification (C222 8213)",
        )
    })?;
    Ok(Some(TransportRef {
        mode,
        reference: reference.into(),
    }))
}

/// The consignments named by RFF in `scope` (bills of lading, bookings, air waybills).
pub fn shipment_references(scope: &[Segment]) -> Vec<Id> {
    scope
        .iter()
        .filter(|segment| segment.tag == "RFF")
        .filter(|rff| {
            rff.get(0, 0)
                .is_some_and(|q| codes::SHIPMENT_REFERENCES.contains(&q))
        })
        .filter_map(|rff| rff.get(0, 1))
        .map(Id::from)
        .collect()
}

/// An event of this message: its source, recorded time and retraction come from the envelope
/// and the header.
pub fn event(
    message: &Message,
    header: &Header,
    event_id: String,
    (event_time, classifier): (Timestamp, Option<Classifier>),
    location: Option<Location>,
    body: Body,
) -> Event {
    Event {
        event_id: event_id.into(),
        source: Arc::from(message.sender),
        event_time,
        recorded_time: header.recorded,
        classifier,
        location: location.map(Arc::new),
        retracted: header.function == Function::Cancel,
        body,
    }
}

/// CODECO and COARRI: the document code says what happened; one event per EQD group.
fn equipment_report(
    message: &Message,
    header: &Header,
    context: &Context,
    outcome: &mut MessageOutcome,
) {
    let (table, name) = match message.kind {
        "CODECO" => (codes::CODECO_DOCUMENTS, "gate-in 34 or gate-out 36"),
        _ => (codes::COARRI_DOCUMENTS, "discharge 98 or loading 46"),
    };
    let Some(kind) = codes::lookup(table, header.document) else {
        return outcome.items.push(Err(message.reject(
            &message.segments[1],
            format!(
                "{} document name code {:?} is not read ({name})",
                message.kind, header.document
            ),
        )));
    };
    let outer = scope(message.segments, &["EQD", "CNT", "UNT"]);
    let body = &message.segments[..message.segments.len() - 1];
    let containers = groups(body, "EQD");
    if containers.is_empty() {
        return outcome.items.push(Err(
            message.reject(&message.segments[1], "the report names no container (EQD)")
        ));
    }
    for group in containers {
        let group = scope(group, &["CNT", "UNT"]);
        let item = equipment_event(message, header, context, kind, &[group, outer]);
        push(outcome, item, message, &group[0]);
    }
}

/// IFTSTA: one event per status (STS group), or per container under an equipment status.
fn status_report(
    message: &Message,
    header: &Header,
    context: &Context,
    outcome: &mut MessageOutcome,
) {
    let outer = scope(message.segments, &["CNI", "STS", "UNT"]);
    let body = &message.segments[..message.segments.len() - 1];
    let statuses = groups(body, "STS");
    if statuses.is_empty() {
        return outcome.items.push(Err(message.reject(
            &message.segments[1],
            "the status report has no status (STS)",
        )));
    }
    for group in statuses {
        let group = scope(group, &["CNI", "CNT", "UNT"]);
        let sts = &group[0];
        let Some(code) = sts.get(1, 0) else {
            outcome.items.push(Err(
                message.reject(sts, "status code (C555 4405) is required")
            ));
            continue;
        };
        let Some(status) = codes::lookup(codes::IFTSTA_STATUSES, code) else {
            outcome.items.push(Err(message.reject(
                sts,
                format!(
                    "status {code:?} is not read ({})",
                    codes::codes(codes::IFTSTA_STATUSES)
                ),
            )));
            continue;
        };
        let status_scope = scope(group, &["EQD"]);
        match status {
            Status::Transport(kind) => {
                let item =
                    transport_event(message, header, context, kind, &[status_scope, outer], sts);
                push(outcome, item, message, sts);
            }
            Status::Equipment(kind) => {
                let containers = groups(group, "EQD");
                if containers.is_empty() {
                    outcome.items.push(Err(
                        message.reject(sts, format!("status {code} names no container (EQD)"))
                    ));
                }
                for container in containers {
                    let item = equipment_event(
                        message,
                        header,
                        context,
                        kind,
                        &[container, status_scope, outer],
                    );
                    push(outcome, item, message, &container[0]);
                }
            }
        }
    }
}

fn push(
    outcome: &mut MessageOutcome,
    item: Result<Event, Reject>,
    message: &Message,
    at: &Segment,
) {
    match item {
        Ok(event) => outcome.push_checked(event, &message.place(at)),
        Err(reject) => outcome.items.push(Err(reject)),
    }
}

/// The event of one EQD group (`scopes[0]` starts with its EQD).
fn equipment_event(
    message: &Message,
    header: &Header,
    context: &Context,
    kind: EquipmentEventType,
    scopes: &[&[Segment]],
) -> Result<Event, Reject> {
    let eqd = &scopes[0][0];
    let reference = eqd
        .get(1, 0)
        .ok_or_else(|| message.reject(eqd, "equipment identification (C237 8260) is required"))?;
    ids::check_equipment_reference(reference)
        .map_err(|reason| message.reject(eqd, format!("equipment {reference}: {reason}")))?;
    let empty_indicator = match eqd.get(5, 0) {
        Some(codes::EMPTY) => EmptyIndicator::Empty,
        Some(codes::FULL) => EmptyIndicator::Laden,
        Some(other) => {
            return Err(message.reject(
                eqd,
                format!("full/empty indicator {other:?} is neither 4 (empty) nor 5 (full)"),
            ))
        }
        None => {
            return Err(message.reject(
                eqd,
                "full/empty indicator (8169) is required: 4 (empty) or 5 (full)",
            ))
        }
    };
    let when = event_time(message, scopes, context, eqd)?;
    let transport = conveyance(message, scopes)?;
    let body = Body::Equipment(EquipmentBody {
        kind,
        equipment_reference: reference.into(),
        empty_indicator,
        shipment_ids: shipment_references(scopes[0]),
        transport,
    });
    Ok(event(
        message,
        header,
        format!("{}/{reference}", header.number),
        when,
        location(scopes),
        body,
    ))
}

/// The event of a conveyance's status.
fn transport_event(
    message: &Message,
    header: &Header,
    context: &Context,
    kind: TransportEventType,
    scopes: &[&[Segment]],
    sts: &Segment,
) -> Result<Event, Reject> {
    let when = event_time(message, scopes, context, sts)?;
    let conveyance = conveyance(message, scopes)?.ok_or_else(|| {
        message.reject(
            sts,
            format!("status {} needs its conveyance (TDT)", kind.code()),
        )
    })?;
    let body = Body::Transport(TransportBody {
        kind,
        mode: conveyance.mode,
        reference: conveyance.reference,
    });
    Ok(event(
        message,
        header,
        header.number.to_string(),
        when,
        location(scopes),
        body,
    ))
}
