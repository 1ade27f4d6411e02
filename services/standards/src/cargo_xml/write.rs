//! Air events as XFSU `StatusMessage` documents (the simulator's Cargo-XML output).

use crate::air;
use chrono_tz::Tz;
use kouan_model::*;
use quick_xml::escape::escape;
use std::fmt::Write;

/// Local time as Cargo-XML senders write it: no offset, seconds, and a fraction only when the
/// instant has one.
fn local(at: Timestamp, zone: Tz) -> String {
    at.to_datetime()
        .with_timezone(&zone)
        .format("%Y-%m-%dT%H:%M:%S%.f")
        .to_string()
}

/// The XFSU of one air event, its times local to `zone`; `None` when the event is not one an
/// XFSU can say the same (not an air event, a place outside the station table, a flight
/// reference that is not `NUMBER-YYYYMMDD`). A retraction is a `Deletion`.
pub fn xfsu(event: &Event, zone: Tz) -> Option<String> {
    let Body::Air(body) = &event.body else {
        return None;
    };
    let station = air::station_of(event)?;
    let flight = match &body.flight {
        Some(reference) => Some(air::flight_parts(reference)?),
        None => None,
    };
    let purpose = if event.retracted {
        "Deletion"
    } else {
        "Creation"
    };
    let indicator = match event.classifier() {
        Classifier::Act => "A",
        Classifier::Est => "E",
        Classifier::Pln => "S",
    };
    let mut quantity = String::new();
    if let Some(weight) = body.weight_kg {
        let _ = write!(
            quantity,
            "<ram:GrossWeightMeasure unitCode=\"KGM\">{weight}</ram:GrossWeightMeasure>"
        );
    }
    if let Some(pieces) = body.pieces {
        let _ = write!(quantity, "<ram:PieceQuantity>{pieces}</ram:PieceQuantity>");
    }
    let mut movement = String::new();
    if let Some((number, date)) = flight {
        let _ = write!(
            movement,
            "<ram:ID>{}</ram:ID><ram:DepartureEvent><ram:ScheduledOccurrenceDateTime>{}T00:00:00</ram:ScheduledOccurrenceDateTime></ram:DepartureEvent>",
            escape(number),
            date.format("%Y-%m-%d")
        );
    }
    Some(format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<rsm:StatusMessage xmlns:rsm=\"iata:statusmessage:1\" xmlns:ram=\"iata:datamodel:3\">",
            "<rsm:MessageHeaderDocument><ram:ID>{id}</ram:ID><ram:Name>Status Message</ram:Name>",
            "<ram:TypeCode>FSU</ram:TypeCode><ram:IssueDateTime>{issued}</ram:IssueDateTime>",
            "<ram:PurposeCode>{purpose}</ram:PurposeCode><ram:VersionID>3.00</ram:VersionID>",
            "<ram:SenderParty><ram:PrimaryID schemeID=\"C\">{sender}</ram:PrimaryID></ram:SenderParty>",
            "</rsm:MessageHeaderDocument>",
            "<rsm:BusinessHeaderDocument><ram:ID>{awb}</ram:ID></rsm:BusinessHeaderDocument>",
            "<rsm:MasterConsignment><ram:TransportContractDocument><ram:ID>{awb}</ram:ID>",
            "<ram:TypeCode>740</ram:TypeCode></ram:TransportContractDocument>",
            "<ram:ReportedStatus><ram:ReasonCode>{code}</ram:ReasonCode>",
            "<ram:AssociatedStatusConsignment>{quantity}",
            "<ram:SpecifiedLogisticsTransportMovement>{movement}",
            "<ram:SpecifiedLocation><ram:ID>{station}</ram:ID></ram:SpecifiedLocation>",
            "<ram:SpecifiedEvent><ram:OccurrenceDateTime>{time}</ram:OccurrenceDateTime>",
            "<ram:DateTimeTypeCode>{indicator}</ram:DateTimeTypeCode></ram:SpecifiedEvent>",
            "</ram:SpecifiedLogisticsTransportMovement></ram:AssociatedStatusConsignment>",
            "</ram:ReportedStatus></rsm:MasterConsignment></rsm:StatusMessage>\n"
        ),
        id = escape(event.event_id.as_str()),
        issued = local(event.recorded_time(), zone),
        purpose = purpose,
        sender = escape(&*event.source),
        awb = escape(body.awb.as_str()),
        code = body.status.code(),
        quantity = quantity,
        movement = movement,
        station = station.iata,
        time = local(event.event_time, zone),
        indicator = indicator,
    ))
}
