//! IATA Cargo-XML XFSU (`StatusMessage`, the XML form of the FSU status) into air events, and
//! back (`docs/standards/cargo-xml.md`).
//!
//! An input is one `StatusMessage` document or several in a row. Each is read on its own: a
//! broken document is rejected with where and why, and the documents before it are taken.
//! Elements are matched by local name, whatever prefix the sender bound to Cargo-XML's
//! namespaces.

pub mod tree;
pub mod write;

use crate::air::{self, AirReport};
use crate::outcome::{Context, MessageOutcome};
use crate::zones::read_time;
use chrono::NaiveDate;
use kouan_model::*;
use std::sync::Arc;
use tree::Node;

/// Weight units of `GrossWeightMeasure/@unitCode` (UN/ECE Recommendation 20), in kilograms.
pub const WEIGHT_UNITS: &[(&str, f64)] = &[("KGM", 1.0), ("LBR", 0.453_592_37)];

/// Every `StatusMessage` of `input`, in order.
pub fn parse(input: &[u8], context: &Context) -> Vec<MessageOutcome> {
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(error) => {
            return vec![MessageOutcome::rejected(
                "XML",
                input.iter().take(4096).copied().collect::<Vec<_>>(),
                Reject::new(
                    format!("XML byte {}", error.valid_up_to()),
                    "the input is not UTF-8",
                ),
            )]
        }
    };
    // the reader skips a byte order mark without counting it in its positions
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (documents, error) = tree::documents(text);
    let mut outcomes = Vec::new();
    let mut read_to = 0;
    for (index, document) in documents.iter().enumerate() {
        let raw = text.get(document.span.clone()).unwrap_or_default();
        read_to = document.span.end;
        let id = document
            .root
            .text_at(&["MessageHeaderDocument", "ID"])
            .unwrap_or("");
        let reference = format!("XFSU {} {id}", index + 1).trim_end().to_string();
        let mut outcome = MessageOutcome::new(reference.clone(), raw);
        if document.root.name != "StatusMessage" {
            outcome.items.push(Err(Reject::new(
                format!("{reference} <{}>", document.root.name),
                "only StatusMessage (XFSU) is read",
            )));
        } else {
            message(&document.root, &reference, context, &mut outcome);
        }
        outcomes.push(outcome);
    }
    if let Some(error) = error {
        let rest = text.get(read_to..).unwrap_or_default();
        outcomes.push(MessageOutcome::rejected(
            format!("XML at byte {}", error.offset),
            rest.as_bytes()
                .iter()
                .take(65_536)
                .copied()
                .collect::<Vec<_>>(),
            Reject::new(format!("XML byte {}", error.offset), error.reason),
        ));
    }
    outcomes
}

fn required<'a>(node: &'a Node, path: &[&str]) -> Result<&'a str, Reject> {
    node.text_at(path)
        .ok_or_else(|| Reject::missing(path.join("/")))
}

fn message(root: &Node, reference: &str, context: &Context, outcome: &mut MessageOutcome) {
    let whole = |reject: Reject| {
        Err(Reject::new(
            format!("{reference} {}", reject.field),
            reject.reason,
        ))
    };
    let header = match read_header(root, context) {
        Ok(header) => header,
        Err(reject) => return outcome.items.push(whole(reject)),
    };
    let Some(consignment) = root.child("MasterConsignment") else {
        return outcome
            .items
            .push(whole(Reject::missing("MasterConsignment")));
    };
    let awb = match required(consignment, &["TransportContractDocument", "ID"]) {
        Ok(awb) => awb,
        Err(reject) => return outcome.items.push(whole(reject)),
    };
    let totals = match quantities(consignment) {
        Ok(totals) => totals,
        Err(reject) => return outcome.items.push(whole(reject)),
    };
    let statuses: Vec<&Node> = consignment.all("ReportedStatus").collect();
    if statuses.is_empty() {
        return outcome
            .items
            .push(whole(Reject::missing("MasterConsignment/ReportedStatus")));
    }
    for (index, status) in statuses.iter().enumerate() {
        let code = status.text_at(&["ReasonCode"]).unwrap_or("");
        let place = format!("{reference} ReportedStatus {} {code}", index + 1);
        let consignments: Vec<&Node> = status.all("AssociatedStatusConsignment").collect();
        if consignments.is_empty() {
            outcome.items.push(Err(Reject::new(
                place,
                "AssociatedStatusConsignment is missing (it carries the place and the time)",
            )));
            continue;
        }
        for associated in consignments {
            match report(&header, awb, totals, code, associated, context) {
                Ok(event) => outcome.push_checked(event, &place),
                Err(reject) => outcome.items.push(Err(Reject::new(
                    format!("{place} {}", reject.field),
                    reject.reason,
                ))),
            }
        }
    }
}

struct Header {
    source: Arc<str>,
    recorded_time: Timestamp,
    retracted: bool,
}

fn read_header(root: &Node, context: &Context) -> Result<Header, Reject> {
    let header = root
        .child("MessageHeaderDocument")
        .ok_or_else(|| Reject::missing("MessageHeaderDocument"))?;
    let source: Arc<str> = match (header.text_at(&["SenderParty", "PrimaryID"]), context.source) {
        (Some(sender), _) => Arc::from(sender),
        (None, Some(source)) => Arc::from(source),
        (None, None) => {
            return Err(Reject::new(
                "MessageHeaderDocument/SenderParty/PrimaryID",
                "no sender: the message names none and no source was given (kouan ingest --source, or ?source= on the HTTP intake)",
            ))
        }
    };
    let issued = required(header, &["IssueDateTime"]).map_err(|reject| {
        Reject::new(
            format!("MessageHeaderDocument/{}", reject.field),
            reject.reason,
        )
    })?;
    let recorded_time = read_time(context.zones, &source, issued)
        .map_err(|reason| Reject::new("MessageHeaderDocument/IssueDateTime", reason))?;
    let retracted = match header.text_at(&["PurposeCode"]) {
        None => false,
        Some(code) if code.eq_ignore_ascii_case("Creation") => false,
        Some(code) if code.eq_ignore_ascii_case("Update") => false,
        Some(code) if code.eq_ignore_ascii_case("Deletion") => true,
        Some(other) => {
            return Err(Reject::new(
                "MessageHeaderDocument/PurposeCode",
                format!("{other:?} is not Creation, Update or Deletion"),
            ))
        }
    };
    Ok(Header {
        source,
        recorded_time,
        retracted,
    })
}

type Totals = (Option<u32>, Option<f64>);

/// `PieceQuantity` and `GrossWeightMeasure` of a consignment element.
fn quantities(node: &Node) -> Result<Totals, Reject> {
    let pieces = match node.text_at(&["PieceQuantity"]) {
        None => None,
        Some(text) => Some(text.parse::<u32>().map_err(|_| {
            Reject::new(
                "PieceQuantity",
                format!("{text:?} is not a number of pieces"),
            )
        })?),
    };
    let weight = match node.child("GrossWeightMeasure") {
        None => None,
        Some(measure) => {
            let text = measure.text.trim();
            let value: f64 = text.parse().map_err(|_| {
                Reject::new("GrossWeightMeasure", format!("{text:?} is not a weight"))
            })?;
            let unit = measure.attribute("unitCode").unwrap_or("KGM");
            let factor = crate::table::lookup(WEIGHT_UNITS, unit).ok_or_else(|| {
                Reject::new(
                    "GrossWeightMeasure/@unitCode",
                    format!("{unit:?} is neither KGM nor LBR"),
                )
            })?;
            Some(if factor == 1.0 { value } else { value * factor })
        }
    };
    Ok((pieces, weight))
}

fn report(
    header: &Header,
    awb: &str,
    totals: Totals,
    code: &str,
    associated: &Node,
    context: &Context,
) -> Result<Event, Reject> {
    let status = AirStatus::from_code(code).ok_or_else(|| {
        Reject::new(
            "ReasonCode",
            format!("status {code:?} is not read ({})", AirStatus::expected()),
        )
    })?;
    let movement = associated
        .child("SpecifiedLogisticsTransportMovement")
        .ok_or_else(|| {
            Reject::new(
                "SpecifiedLogisticsTransportMovement",
                "is missing (it carries the place and the time of the status)",
            )
        })?;
    let station = required(movement, &["SpecifiedLocation", "ID"])?;
    let occurred = required(movement, &["SpecifiedEvent", "OccurrenceDateTime"])?;
    let event_time = read_time(context.zones, &header.source, occurred)
        .map_err(|reason| Reject::new("SpecifiedEvent/OccurrenceDateTime", reason))?;
    let classifier = match required(movement, &["SpecifiedEvent", "DateTimeTypeCode"])? {
        "A" => None,
        "E" => Some(Classifier::Est),
        "S" => Some(Classifier::Pln),
        other => {
            return Err(Reject::new(
                "SpecifiedEvent/DateTimeTypeCode",
                format!("{other:?} is not A, E or S"),
            ))
        }
    };
    let flight = match movement.text_at(&["ID"]) {
        None => None,
        Some(number) => Some((number, flight_date(movement, number)?)),
    };
    let (pieces, weight_kg) = match quantities(associated)? {
        (None, None) => totals,
        own => own,
    };
    air::event(AirReport {
        source: header.source.clone(),
        awb,
        status,
        station,
        flight,
        event_time,
        recorded_time: Some(header.recorded_time),
        classifier,
        pieces,
        weight_kg,
        retracted: header.retracted,
    })
    .map_err(|reason| Reject::new("SpecifiedLocation/ID", reason))
}

/// The flight's date is the date of its scheduled departure as written (its local date, as
/// FSU's flight date is); the time of day is not part of the flight reference.
fn flight_date(movement: &Node, number: &str) -> Result<NaiveDate, Reject> {
    let field = "DepartureEvent/ScheduledOccurrenceDateTime";
    let scheduled = movement
        .text_at(&["DepartureEvent", "ScheduledOccurrenceDateTime"])
        .ok_or_else(|| {
            Reject::new(
                field,
                format!("flight {number} has no scheduled departure, which dates it"),
            )
        })?;
    scheduled
        .get(..10)
        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
        .ok_or_else(|| Reject::new(field, format!("{scheduled:?} does not start with a date")))
}
