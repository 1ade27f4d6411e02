//! The air standards beside Cargo-IMP: Cargo-XML XFSU and ONE Record LogisticsEvents. Each says
//! the same status as the FSU does and becomes the same event; what they cannot say is named.

use kouan_model::*;
use kouan_standards::{Context, Format, MessageOutcome, SourceZones};
use proptest::prelude::*;

fn zones() -> SourceZones {
    SourceZones::default().with("CGOFMCZ", chrono_tz::Asia::Shanghai)
}

fn context<'a>(zones: &'a SourceZones, source: Option<&'a str>) -> Context<'a> {
    Context {
        zones,
        source,
        reference_time: Timestamp::parse("2026-11-20T00:00:00+08:00").unwrap(),
    }
}

fn read(format: Format, text: &str, source: Option<&str>) -> Vec<MessageOutcome> {
    let zones = zones();
    format.parse(text.as_bytes(), &context(&zones, source))
}

fn taken(outcomes: &[MessageOutcome]) -> Vec<Event> {
    outcomes.iter().flat_map(|o| o.taken().cloned()).collect()
}

fn rejections(outcomes: &[MessageOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .flat_map(|o| o.rejections().map(|r| r.to_string()))
        .collect()
}

/// The FSU the other two say again: CZ0431 of 20 November departed CGO at 08:30 local.
const FSU: &str = "QK CGOFMCZ\r\n.CGOFMCZ 200835\r\nFSU/16\r\n784-12345675CGOLUX/T12K3400.5\r\nDEP/CZ0431/20NOV/CGOLUX/T12K3400.5/A0830\r\n";

/// The same departure as an XFSU, with prefixes of the sender's own choosing and a second
/// status (a booking for the onward leg) in the same message.
const XFSU: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<x:StatusMessage xmlns:x="iata:statusmessage:1" xmlns:d="iata:datamodel:3">
 <x:MessageHeaderDocument>
  <d:ID>XF-0001</d:ID><d:IssueDateTime>2026-11-20T08:35:00</d:IssueDateTime>
  <d:PurposeCode>Creation</d:PurposeCode>
  <d:SenderParty><d:PrimaryID schemeID="C">CGOFMCZ</d:PrimaryID></d:SenderParty>
 </x:MessageHeaderDocument>
 <x:MasterConsignment>
  <d:GrossWeightMeasure unitCode="KGM">3400.5</d:GrossWeightMeasure><d:PieceQuantity>12</d:PieceQuantity>
  <d:TransportContractDocument><d:ID>784-12345675</d:ID><d:TypeCode>740</d:TypeCode></d:TransportContractDocument>
  <d:ReportedStatus><d:ReasonCode>DEP</d:ReasonCode>
   <d:AssociatedStatusConsignment>
    <d:SpecifiedLogisticsTransportMovement><d:ID>CZ0431</d:ID>
     <d:DepartureEvent><d:ScheduledOccurrenceDateTime>2026-11-20T08:00:00</d:ScheduledOccurrenceDateTime></d:DepartureEvent>
     <d:SpecifiedLocation><d:ID>CGO</d:ID><d:Name><![CDATA[Zhengzhou & Xinzheng]]></d:Name></d:SpecifiedLocation>
     <d:SpecifiedEvent><d:OccurrenceDateTime>2026-11-20T08:30:00</d:OccurrenceDateTime><d:DateTimeTypeCode>A</d:DateTimeTypeCode></d:SpecifiedEvent>
    </d:SpecifiedLogisticsTransportMovement>
   </d:AssociatedStatusConsignment>
  </d:ReportedStatus>
  <d:ReportedStatus><d:ReasonCode>BKD</d:ReasonCode>
   <d:AssociatedStatusConsignment><d:PieceQuantity>12</d:PieceQuantity>
    <d:SpecifiedLogisticsTransportMovement><d:ID>CV7701</d:ID>
     <d:DepartureEvent><d:ScheduledOccurrenceDateTime>2026-11-21T10:00:00+01:00</d:ScheduledOccurrenceDateTime></d:DepartureEvent>
     <d:SpecifiedLocation><d:ID>LUX</d:ID></d:SpecifiedLocation>
     <d:SpecifiedEvent><d:OccurrenceDateTime>2026-11-21T10:00:00+01:00</d:OccurrenceDateTime><d:DateTimeTypeCode>S</d:DateTimeTypeCode></d:SpecifiedEvent>
    </d:SpecifiedLogisticsTransportMovement>
   </d:AssociatedStatusConsignment>
  </d:ReportedStatus>
 </x:MasterConsignment>
</x:StatusMessage>
"#;

/// The same departure as a ONE Record StatusUpdateEvent, the code by IRI, the weight in pounds.
const LOGISTICS_EVENT: &str = r#"{
  "@context": {"cargo": "https://onerecord.iata.org/ns/cargo#"},
  "@id": "https://1r.cz.example/logistics-objects/s1/logistics-events/e1",
  "@type": "cargo:StatusUpdateEvent",
  "cargo:eventCode": {"@id": "https://onerecord.iata.org/ns/code-lists/StatusCode#DEP"},
  "cargo:eventDate": {"@type": "http://www.w3.org/2001/XMLSchema#dateTime", "@value": "2026-11-20T08:30:00+08:00"},
  "cargo:creationDate": "2026-11-20T08:35:00+08:00",
  "cargo:eventTimeType": {"@id": "cargo:ACTUAL", "@type": "cargo:EventTimeType"},
  "cargo:eventFor": {"@type": "cargo:Shipment", "cargo:waybill": {"@type": "cargo:Waybill", "cargo:waybillPrefix": "784", "cargo:waybillNumber": "12345675"}},
  "cargo:eventLocation": {"@type": "cargo:Location", "cargo:locationCodes": [{"cargo:code": "CNCGO"}]},
  "cargo:transportMovementReference": {"@type": "cargo:TransportMovement", "cargo:transportIdentifier": "CZ0431",
    "cargo:movementTimes": [{"cargo:movementTimeType": {"@id": "cargo:SCHEDULED"}, "cargo:direction": {"@id": "cargo:OUTBOUND"}, "cargo:movementTimestamp": "2026-11-20T08:00:00+08:00"}]},
  "cargo:recordedPieceCount": 12,
  "cargo:recordedWeight": {"cargo:numericalValue": 7496.8192, "cargo:unit": {"@id": "https://onerecord.iata.org/ns/code-lists/MeasurementUnitCode#LBR"}}
}"#;

fn departure() -> Event {
    taken(&read(Format::CargoImp, FSU, None)).remove(0)
}

/// Everything but who said it: the same status in any air standard is the same event.
fn same_status(a: &Event, b: &Event) {
    assert_eq!(a.event_id, b.event_id);
    assert_eq!(a.event_time, b.event_time);
    assert_eq!(a.classifier, b.classifier);
    assert_eq!(a.location, b.location);
    let (Body::Air(x), Body::Air(y)) = (&a.body, &b.body) else {
        panic!("not air events")
    };
    assert_eq!(
        (x.status, &x.awb, &x.flight, x.pieces),
        (y.status, &y.awb, &y.flight, y.pieces)
    );
    assert!((x.weight_kg.unwrap() - y.weight_kg.unwrap()).abs() < 0.01);
}

#[test]
fn an_xfsu_says_what_the_fsu_says_and_each_status_is_an_event() {
    let outcomes = read(Format::CargoXml, XFSU, None);
    assert!(
        rejections(&outcomes).is_empty(),
        "{:?}",
        rejections(&outcomes)
    );
    let events = taken(&outcomes);
    assert_eq!(events.len(), 2);
    same_status(&events[0], &departure());
    assert_eq!(&*events[0].source, "CGOFMCZ");
    assert_eq!(events[0].recorded_time, departure().recorded_time);
    let Body::Air(booked) = &events[1].body else {
        panic!()
    };
    assert_eq!(booked.flight.as_deref(), Some("CV7701-20261121"));
    assert_eq!(events[1].classifier, Some(Classifier::Pln));
    assert_eq!(
        events[1].event_time,
        Timestamp::parse("2026-11-21T10:00:00+01:00").unwrap()
    );
    // a Deletion retracts the same event
    let deleted = taken(&read(
        Format::CargoXml,
        &XFSU.replace("Creation", "Deletion"),
        None,
    ));
    assert!(deleted[0].retracted);
    assert_eq!(deleted[0].event_id, events[0].event_id);
}

#[test]
fn a_bad_xfsu_status_is_named_and_a_broken_document_keeps_the_ones_before_it() {
    let bad = XFSU.replace("<d:ReasonCode>BKD", "<d:ReasonCode>XXX");
    let outcomes = read(Format::CargoXml, &bad, None);
    assert_eq!(taken(&outcomes).len(), 1);
    let rejected = rejections(&outcomes);
    assert!(
        rejected[0].starts_with(
            "XFSU 1 XF-0001 ReportedStatus 2 XXX ReasonCode: status \"XXX\" is not read"
        ),
        "{rejected:?}"
    );
    let pounds = XFSU.replace("unitCode=\"KGM\"", "unitCode=\"TNE\"");
    let rejected = rejections(&read(Format::CargoXml, &pounds, None));
    assert!(
        rejected[0].contains("@unitCode: \"TNE\" is neither KGM nor LBR"),
        "{rejected:?}"
    );
    // two documents, then one cut short: the two are taken, the third is named by its byte
    let body = XFSU.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let cut = &body[..body.len() / 2];
    let outcomes = read(Format::CargoXml, &format!("{XFSU}{body}{cut}"), None);
    assert_eq!(taken(&outcomes).len(), 4);
    let rejected = rejections(&outcomes);
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].starts_with("XML byte "), "{rejected:?}");
    // a local time from a sender without a zone is refused, never read as UTC
    let unknown = XFSU.replace(">CGOFMCZ<", ">LUXCVCV<");
    let rejected = rejections(&read(Format::CargoXml, &unknown, None));
    assert!(rejected[0].contains("no zone"), "{rejected:?}");
}

#[test]
fn a_logistics_event_says_what_the_fsu_says() {
    let outcomes = read(Format::OneRecord, LOGISTICS_EVENT, Some("CGOFMCZ"));
    assert!(
        rejections(&outcomes).is_empty(),
        "{:?}",
        rejections(&outcomes)
    );
    let events = taken(&outcomes);
    same_status(&events[0], &departure());
    // an api:Collection of events reads the same
    let collection = format!(
        r#"{{"@type": "api:Collection", "api:hasItem": [{LOGISTICS_EVENT}, {LOGISTICS_EVENT}]}}"#
    );
    assert_eq!(
        taken(&read(Format::OneRecord, &collection, Some("CGOFMCZ"))).len(),
        2
    );
    assert_eq!(
        Format::detect(LOGISTICS_EVENT.as_bytes()),
        Some(Format::OneRecord)
    );
    assert_eq!(Format::detect(XFSU.as_bytes()), Some(Format::CargoXml));
}

#[test]
fn what_a_logistics_event_cannot_say_is_named() {
    let linked = LOGISTICS_EVENT.replace(
        r#"{"@type": "cargo:Shipment", "cargo:waybill": {"@type": "cargo:Waybill", "cargo:waybillPrefix": "784", "cargo:waybillNumber": "12345675"}}"#,
        r#"{"@id": "https://1r.cz.example/logistics-objects/s1"}"#,
    );
    let rejected = rejections(&read(Format::OneRecord, &linked, Some("CGOFMCZ")));
    assert!(
        rejected[0].contains("cargo:eventFor: names no air waybill")
            && rejected[0].contains("does not dereference links"),
        "{rejected:?}"
    );
    let requested = LOGISTICS_EVENT.replace("cargo:ACTUAL", "cargo:REQUESTED");
    let rejected = rejections(&read(Format::OneRecord, &requested, Some("CGOFMCZ")));
    assert!(
        rejected[0].contains("cargo:eventTimeType: \"REQUESTED\""),
        "{rejected:?}"
    );
    let rejected = rejections(&read(Format::OneRecord, LOGISTICS_EVENT, None));
    assert!(rejected[0].contains("--source"), "{rejected:?}");
    let unknown_place = LOGISTICS_EVENT.replace("CNCGO", "PEK");
    let rejected = rejections(&read(Format::OneRecord, &unknown_place, Some("CGOFMCZ")));
    assert!(rejected[0].contains("station \"PEK\""), "{rejected:?}");
}

proptest! {
    #[test]
    fn no_mangled_air_message_makes_a_parser_panic(cut in 0usize..4000, byte in any::<u8>()) {
        let zones = zones();
        let context = context(&zones, Some("s"));
        for (format, text) in [(Format::CargoXml, XFSU), (Format::OneRecord, LOGISTICS_EVENT)] {
            let mut bytes = text.as_bytes().to_vec();
            let at = cut % bytes.len();
            bytes[at] = byte;
            let _ = format.parse(&bytes, &context);
            let _ = format.parse(&bytes[..at], &context);
        }
    }
}

#[test]
fn a_byte_order_mark_before_the_xml_is_read_past() {
    let outcomes = read(Format::CargoXml, &format!("\u{feff}{XFSU}"), None);
    assert_eq!(taken(&outcomes).len(), 2, "{:?}", rejections(&outcomes));
    // found by the fuzz target: a mark, then empty elements and a broken one
    let mut found = vec![0xef, 0xbb, 0xbf, b'\r'];
    found.extend_from_slice(b"<:/2,/> \n  \n \r<:/2,/><:/4,/>\r\r/ \r<><\x01\x00\x00>");
    let zones = zones();
    let outcomes = Format::CargoXml.parse(&found, &context(&zones, None));
    assert!(!rejections(&outcomes).is_empty());
}
