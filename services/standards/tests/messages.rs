//! Each standard's reading, message by message: several containers in one message, non-default
//! separators and released characters, a replaced message becoming a later version, a resent
//! interchange adding nothing, times without a zone (configured: taken; unknown: rejected), bad
//! values named where they are, and no panic on arbitrary bytes.

use kouan_model::*;
use kouan_standards::{Context, Format, MessageOutcome, SourceZones};
use proptest::prelude::*;

fn zones() -> SourceZones {
    SourceZones::default()
        .with("ZZYARD", chrono_tz::Asia::Shanghai)
        .with("CGOFMCZ", chrono_tz::Asia::Shanghai)
}

/// What a parser is given besides the bytes: the test's day, 2026-11-20 in Zhengzhou.
fn context<'a>(zones: &'a SourceZones, source: Option<&'a str>) -> Context<'a> {
    Context {
        zones,
        source,
        reference_time: Timestamp::parse("2026-11-20T00:00:00+08:00").unwrap(),
    }
}

fn read(format: Format, text: &str, zones: &SourceZones) -> Vec<MessageOutcome> {
    format.parse(text.as_bytes(), &context(zones, None))
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

const GATE_OUT: &str = "UNB+UNOC:3+ZZYARD+KOUAN+261120:0830+000123'\
UNH+4+CODECO:D:95B:UN:ITG14'\
BGM+36+GO-881+9'\
DTM+137:202611200830:203'\
TDT+1+HNA12345-20261120+3'\
LOC+165+CNZZP:139:6+ZZP-CY:TER:ZZZ'\
EQD+CN+CSQU3054383+22G1:102:5+++5'\
RFF+BM:ZZHH2611200001'\
DTM+7:202611200815:203'\
EQD+CN+TCNU0000048+45G1:102:5+++4'\
DTM+7:202611200820:203'\
CNT+16:2'\
UNT+12+4'\
UNZ+1+000123'";

#[test]
fn one_codeco_with_two_containers_gives_two_gate_outs() {
    let outcomes = read(Format::Edifact, GATE_OUT, &zones());
    assert!(
        rejections(&outcomes).is_empty(),
        "{:?}",
        rejections(&outcomes)
    );
    let events = taken(&outcomes);
    assert_eq!(events.len(), 2);
    let Body::Equipment(first) = &events[0].body else {
        panic!()
    };
    assert_eq!(first.kind, EquipmentEventType::Gtot);
    assert_eq!(first.empty_indicator, EmptyIndicator::Laden);
    assert_eq!(first.shipment_ids, vec![Id::from("ZZHH2611200001")]);
    assert_eq!(first.transport.as_ref().unwrap().mode, TransportMode::Truck);
    let Body::Equipment(second) = &events[1].body else {
        panic!()
    };
    assert_eq!(second.empty_indicator, EmptyIndicator::Empty);
    assert_eq!(&*events[0].source, "ZZYARD");
    assert_eq!(events[0].event_id, "GO-881/CSQU3054383");
    assert_eq!(
        events[0].event_time,
        Timestamp::parse("2026-11-20T08:15:00+08:00").unwrap()
    );
    assert_eq!(
        events[0].recorded_time,
        Some(Timestamp::parse("2026-11-20T08:30:00+08:00").unwrap())
    );
    let location = events[0].location.as_ref().unwrap();
    assert_eq!(
        (location.unlocode.as_str(), location.facility.as_deref()),
        ("CNZZP", Some("ZZP-CY"))
    );
}

#[test]
fn other_separators_and_released_characters_read_the_same() {
    let other = GATE_OUT
        .replace('\'', "~")
        .replace('+', "*")
        .replace(':', "|")
        .replace("GO-881", "GO!*881");
    let outcomes = read(Format::Edifact, &format!("UNA|*.! ~{other}"), &zones());
    assert!(
        rejections(&outcomes).is_empty(),
        "{:?}",
        rejections(&outcomes)
    );
    let events = taken(&outcomes);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_id, "GO*881/CSQU3054383");
}

#[test]
fn a_replacement_is_a_later_version_a_cancellation_retracts_and_a_resend_is_the_same() {
    let first = taken(&read(Format::Edifact, GATE_OUT, &zones()));
    let resent = taken(&read(
        Format::Edifact,
        &GATE_OUT.replace("000123", "000124"),
        &zones(),
    ));
    assert_eq!(
        first, resent,
        "a resent interchange carries the same events"
    );
    let replaced = GATE_OUT
        .replace("BGM+36+GO-881+9", "BGM+36+GO-881+5")
        .replace("DTM+137:202611200830", "DTM+137:202611200930")
        .replace("DTM+7:202611200815", "DTM+7:202611200812");
    let replaced = taken(&read(Format::Edifact, &replaced, &zones()));
    assert_eq!(replaced[0].event_id, first[0].event_id);
    assert!(replaced[0].recorded_time() > first[0].recorded_time());
    assert_eq!(
        replaced[0].event_time,
        Timestamp::parse("2026-11-20T08:12:00+08:00").unwrap()
    );
    let cancelled = taken(&read(
        Format::Edifact,
        &GATE_OUT.replace("BGM+36+GO-881+9", "BGM+36+GO-881+1"),
        &zones(),
    ));
    assert!(cancelled.iter().all(|event| event.retracted));
}

#[test]
fn a_time_without_a_zone_needs_its_sources_zone() {
    let outcomes = read(Format::Edifact, GATE_OUT, &SourceZones::default());
    let rejected = rejections(&outcomes);
    assert!(!rejected.is_empty());
    assert!(
        rejected.iter().all(|r| r.contains("no zone")),
        "{rejected:?}"
    );
    assert!(taken(&outcomes).is_empty());
}

#[test]
fn a_bad_container_is_named_where_it_is_and_its_neighbour_is_still_taken() {
    let bad = GATE_OUT.replace("CSQU3054383", "CSQU3054384");
    let outcomes = read(Format::Edifact, &bad, &zones());
    let rejected = rejections(&outcomes);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0]
            .starts_with("interchange 000123 message 4 segment 6 EQD: equipment CSQU3054384"),
        "{}",
        rejected[0]
    );
    assert_eq!(taken(&outcomes).len(), 1);
    // a broken count rejects its message whole, with the trailer named
    let miscounted = GATE_OUT.replace("UNT+12+4", "UNT+11+4");
    let rejected = rejections(&read(Format::Edifact, &miscounted, &zones()));
    assert!(
        rejected[0].contains("segment 12 UNT: counts \"11\" segments"),
        "{rejected:?}"
    );
    // an interchange count that is off is said, and the complete message still taken
    let outcomes = read(
        Format::Edifact,
        &GATE_OUT.replace("UNZ+1+", "UNZ+2+"),
        &zones(),
    );
    assert_eq!(taken(&outcomes).len(), 2);
    assert!(rejections(&outcomes)[0].contains("counts \"2\" messages"));
}

const DEPARTED: &str = "QK KOUANXH\r\n.CGOFMCZ 200835\r\nFSU/16\r\n784-12345675CGOLUX/T12K3400.5\r\nDEP/CZ0431/20NOV/CGOLUX/T12K3400.5/A0830\r\n";

#[test]
fn an_fsu_departure_reads_into_an_air_event_and_a_later_one_is_its_next_version() {
    let outcomes = read(Format::CargoImp, DEPARTED, &zones());
    assert!(
        rejections(&outcomes).is_empty(),
        "{:?}",
        rejections(&outcomes)
    );
    let event = &taken(&outcomes)[0];
    let Body::Air(air) = &event.body else {
        panic!()
    };
    assert_eq!(air.status, AirStatus::Dep);
    assert_eq!(air.flight.as_deref(), Some("CZ0431-20261120"));
    assert_eq!((air.pieces, air.weight_kg), (Some(12), Some(3400.5)));
    assert_eq!(
        event.event_time,
        Timestamp::parse("2026-11-20T08:30:00+08:00").unwrap()
    );
    assert_eq!(event.location.as_ref().unwrap().unlocode, "CNCGO");
    let again = DEPARTED
        .replace("200835", "200950")
        .replace("A0830", "A0840");
    let later = &taken(&read(Format::CargoImp, &again, &zones()))[0];
    assert_eq!(later.event_id, event.event_id);
    assert!(later.recorded_time() > event.recorded_time());
    // a line that is no status is rejected on its own, the status beside it still taken
    let with_osi = read(
        Format::CargoImp,
        &format!("{DEPARTED}OSI/HANDLE WITH CARE\r\n"),
        &zones(),
    );
    assert_eq!(taken(&with_osi).len(), 1);
    let rejected = rejections(&with_osi);
    assert!(
        rejected[0].contains("line 6 OSI: status \"OSI\" is not read"),
        "{rejected:?}"
    );
    // without a zone for the sender, the time is refused
    let rejected = rejections(&read(Format::CargoImp, DEPARTED, &SourceZones::default()));
    assert!(rejected[0].contains("no zone"), "{rejected:?}");
    // a wrong AWB check digit names its line
    let rejected = rejections(&read(
        Format::CargoImp,
        &DEPARTED.replace("12345675", "12345676"),
        &zones(),
    ));
    assert!(
        rejected[0].starts_with("FSU 1 (line 1) line 4 consignment"),
        "{rejected:?}"
    );
}

#[test]
fn dcsa_events_need_a_source_and_name_the_field_that_is_wrong() {
    let event = r#"[{"eventID":"3cecb101-7a1a-43a4-9d62-e88a131651e2","eventType":"EQUIPMENT",
      "eventClassifierCode":"ACT","eventDateTime":"2026-11-20T08:15:00+08:00",
      "eventCreatedDateTime":"2026-11-20T08:20:00+08:00","equipmentEventTypeCode":"LOAD",
      "equipmentReference":"CSQU3054383","emptyIndicatorCode":"LADEN",
      "transportCall":{"modeOfTransport":"RAIL","exportVoyageNumber":"X8001-20261120","UNLocationCode":"CNZZP"}},
      {"eventID":"x","eventType":"TRANSPORT","eventClassifierCode":"ACT",
      "eventDateTime":"2026-11-20T08:15:00+08:00","eventCreatedDateTime":"2026-11-20T08:20:00+08:00",
      "transportEventTypeCode":"GONE"}]"#;
    let zones = zones();
    let outcomes = Format::Dcsa.parse(event.as_bytes(), &context(&zones, Some("carrier")));
    assert_eq!(taken(&outcomes).len(), 1);
    let rejected = rejections(&outcomes);
    assert!(
        rejected[0].starts_with("event 2 x transportEventTypeCode"),
        "{rejected:?}"
    );
    let without = read(Format::Dcsa, event, &zones);
    assert!(rejections(&without)[0].contains("--source"));
}

#[test]
fn formats_are_told_by_their_first_bytes() {
    assert_eq!(Format::detect(GATE_OUT.as_bytes()), Some(Format::Edifact));
    assert_eq!(Format::detect(b"UNA:+.? 'UNB"), Some(Format::Edifact));
    assert_eq!(Format::detect(DEPARTED.as_bytes()), Some(Format::CargoImp));
    assert_eq!(Format::detect(b"FSU/16\n"), Some(Format::CargoImp));
    assert_eq!(
        Format::detect(b"[{\"eventType\":\"EQUIPMENT\"}]"),
        Some(Format::Dcsa)
    );
    assert_eq!(Format::detect(b"{\"eventId\":\"1\"}"), Some(Format::Ndjson));
    assert_eq!(Format::detect(b"hello"), None);
}

proptest! {
    #[test]
    fn no_input_makes_a_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let zones = zones();
        let context = context(&zones, Some("s"));
        for format in Format::ALL {
            let _ = format.parse(&bytes, &context);
        }
    }

    #[test]
    fn no_mangled_message_makes_a_parser_panic(cut in 0usize..400, byte in any::<u8>()) {
        let zones = zones();
        let context = context(&zones, Some("s"));
        for (format, text) in [(Format::Edifact, GATE_OUT), (Format::CargoImp, DEPARTED)] {
            let mut bytes = text.as_bytes().to_vec();
            let at = cut % bytes.len();
            bytes[at] = byte;
            let _ = format.parse(&bytes, &context);
            let _ = format.parse(&bytes[..at], &context);
        }
    }
}
