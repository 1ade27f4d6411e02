//! The simulator's output in each standard reads back as the same events: every event a
//! standard's writer takes comes back from its parser with the same body, times, classifier,
//! place and retraction (its `source` and `eventId` are the message's own), and nothing it
//! wrote is rejected. The stations of the Cargo-IMP table are the simulator's airports.

use kouan_emitter::simulator::network;
use kouan_emitter::simulator::output::write_lines;
use kouan_emitter::simulator::wave::{
    SOURCE_AIR_CARGO, SOURCE_AIR_OPS, SOURCE_CUSTOMS, SOURCE_RAIL, SOURCE_YARD,
};
use kouan_emitter::simulator::{SimConfig, Simulator};
use kouan_model::{ndjson, Body, Event, Timestamp};
use kouan_standards::write::{type_b_address, write_all};
use kouan_standards::{stations, Context, Format, SourceZones};

fn messy_run(lines: u64) -> Vec<Result<Event, String>> {
    let config = SimConfig {
        seed: 11,
        shipments_per_day: 600.0,
        duplicate_rate: 0.05,
        correction_rate: 0.08,
        retraction_rate: 0.05,
        malformed_rate: 0.01,
        ..SimConfig::default()
    };
    let mut simulator = Simulator::new(config);
    let mut out = Vec::new();
    write_lines(&mut simulator, lines, &mut out, None).unwrap();
    out.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| ndjson::decode_line(line).map_err(|_| String::from_utf8_lossy(line).into()))
        .collect()
}

/// What must survive a standard: everything but the message's own identity. A customs response
/// (CUSRES) does not restate the declaration's direction and procedure
/// (`docs/standards/edifact.md`); the status derivation reads neither from customs events.
fn content(event: &Event) -> String {
    let mut body = event.body.clone();
    if let Body::Customs(customs) = &mut body {
        customs.direction = None;
        customs.procedure = None;
    }
    format!(
        "{:?} {} {} {:?} {:?} {}",
        body,
        event.event_time.unix_millis(),
        event.recorded_time().unix_millis(),
        event.classifier(),
        event.location,
        event.retracted
    )
}

fn zones() -> SourceZones {
    let shanghai = chrono_tz::Asia::Shanghai;
    [
        SOURCE_YARD,
        SOURCE_RAIL,
        SOURCE_CUSTOMS,
        SOURCE_AIR_CARGO,
        SOURCE_AIR_OPS,
    ]
    .iter()
    .fold(SourceZones::default(), |zones, source| {
        zones
            .with(source, shanghai)
            .with(&type_b_address(source), shanghai)
    })
}

#[test]
fn each_standard_gives_back_the_events_it_was_given() {
    let lines = messy_run(30_000);
    let zones = zones();
    let context = Context {
        zones: &zones,
        source: Some("carrier"),
        // the run's own days: Cargo-IMP dates carry no year
        reference_time: Timestamp::from_unix_millis(SimConfig::default().start_unix_millis)
            .unwrap(),
    };
    for format in [
        Format::Edifact,
        Format::CargoImp,
        Format::CargoXml,
        Format::Dcsa,
        Format::OneRecord,
    ] {
        let written = write_all(&lines, &[format], chrono_tz::Asia::Shanghai);
        let mut expected: Vec<String> = lines
            .iter()
            .zip(&written.placed)
            .filter(|(_, placed)| placed.is_some())
            .map(|(line, _)| content(line.as_ref().unwrap()))
            .collect();
        assert!(
            expected.len() > 1_000,
            "{format:?} took only {} events",
            expected.len()
        );
        let outcomes = format.parse(written.texts[0].as_bytes(), &context);
        let rejections: Vec<String> = outcomes
            .iter()
            .flat_map(|outcome| outcome.rejections().map(|reject| reject.to_string()))
            .collect();
        assert!(
            rejections.is_empty(),
            "{format:?}: {:?}",
            &rejections[..rejections.len().min(5)]
        );
        let mut got: Vec<String> = outcomes
            .iter()
            .flat_map(|outcome| outcome.taken().map(content))
            .collect();
        expected.sort();
        got.sort();
        assert_eq!(got.len(), expected.len(), "{format:?}");
        for (got, expected) in got.iter().zip(&expected) {
            assert_eq!(got, expected, "{format:?}");
        }
    }
}

#[test]
fn the_station_table_names_the_simulators_airports_as_it_does() {
    for lane in network::AIR_LANES
        .iter()
        .map(|lane| lane.airport)
        .chain([network::CGO])
    {
        let station = stations::by_unlocode(lane.unlocode)
            .unwrap_or_else(|| panic!("{} is not in the station table", lane.unlocode));
        assert_eq!(station.facility, lane.facility);
        assert_eq!(&lane.unlocode[2..], station.iata);
    }
}
