//! Events in the standards their kinds of source use, for the simulator: each event goes to the
//! first of the chosen formats that can say it exactly (the same event comes back when the
//! message is read), and the rest stays kouan's NDJSON.

use crate::cargo_imp::write::{fsu, FlightLegs};
use crate::dcsa::write as dcsa;
use crate::edifact::syntax::Separators;
use crate::edifact::write::{says as edifact_says, InterchangeWriter};
use crate::format::Format;
use chrono_tz::Tz;
use kouan_model::Event;
use std::collections::HashMap;

/// Messages per interchange the writer puts together from one sender's consecutive events.
const MESSAGES_PER_INTERCHANGE: usize = 50;

/// A Type B address (seven letters or digits) for a source's name.
pub fn type_b_address(source: &str) -> String {
    let mut address: String = source
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(7)
        .collect();
    while address.len() < 7 {
        address.push('X');
    }
    address
}

/// What the writer made: the text of each chosen format (in the order given), the NDJSON lines
/// of the rest, and where each line went.
#[derive(Debug, Default)]
pub struct Written {
    pub texts: Vec<String>,
    pub rest: String,
    /// For each line, the index in `formats` of the format it went to (`None`: the rest).
    pub placed: Vec<Option<usize>>,
}

impl Written {
    /// Lines that went to `formats[index]` (`None`: to the rest).
    pub fn count(&self, index: Option<usize>) -> usize {
        self.placed
            .iter()
            .filter(|placed| **placed == index)
            .count()
    }
}

/// Writes every delivered line (valid events, already decoded, or raw NDJSON for an injected
/// malformed record) in the first of `formats` that can say every version of its event;
/// `zone` is every source's clock.
pub fn write_all(lines: &[Result<Event, String>], formats: &[Format], zone: Tz) -> Written {
    let events: Vec<&Event> = lines.iter().filter_map(|line| line.as_ref().ok()).collect();
    let mut legs = FlightLegs::default();
    for event in &events {
        legs.learn(event);
    }
    let address = |event: &Event| type_b_address(&event.source);
    // Every version of one event goes the same way: to the first format that can say each of
    // them (a format that cannot retract takes no event that is ever retracted).
    let mut versions: HashMap<(&str, &str), Vec<&Event>> = HashMap::new();
    for event in &events {
        versions
            .entry((&*event.source, event.event_id.as_str()))
            .or_default()
            .push(event);
    }
    let says = |format: Format, event: &Event| match format {
        Format::Edifact => edifact_says(event, zone),
        Format::CargoImp => fsu(event, &address(event), zone, &legs).is_some(),
        Format::Dcsa => dcsa::event(event).is_some(),
        Format::Ndjson => true,
    };
    let route: HashMap<(&str, &str), usize> = versions
        .iter()
        .filter_map(|(key, group)| {
            let retracted = group.iter().any(|event| event.retracted);
            let retracts = |format: &Format| matches!(format, Format::Edifact | Format::Ndjson);
            formats
                .iter()
                .position(|format| {
                    (retracts(format) || !retracted)
                        && group.iter().all(|event| says(*format, event))
                })
                .map(|index| (*key, index))
        })
        .collect();

    let mut written = Written {
        texts: vec![String::new(); formats.len()],
        ..Written::default()
    };
    let mut interchanges: Vec<InterchangeWriter> = Vec::new();
    let mut dcsa_events: Vec<serde_json::Value> = Vec::new();
    for line in lines {
        let index = line.as_ref().ok().and_then(|event| {
            route
                .get(&(&*event.source, event.event_id.as_str()))
                .copied()
        });
        written.placed.push(index);
        let (Ok(event), Some(index)) = (line, index) else {
            match line {
                Ok(event) => written.rest.push_str(&event.to_json()),
                Err(raw) => written.rest.push_str(raw),
            }
            written.rest.push('\n');
            continue;
        };
        // routed here because this format says every version of the event
        let said = "a routed event is said by its format";
        let text = &mut written.texts[index];
        match formats[index] {
            Format::Edifact => {
                let continues = interchanges.last().is_some_and(|w| {
                    w.sender() == &*event.source && w.len() < MESSAGES_PER_INTERCHANGE
                });
                if !continues {
                    interchanges.push(InterchangeWriter::new(
                        Separators::default(),
                        &event.source,
                        zone,
                    ));
                }
                let writer = interchanges.last_mut().expect("just made");
                assert!(writer.push(event), "{said}");
            }
            Format::CargoImp => {
                text.push_str(&fsu(event, &address(event), zone, &legs).expect(said))
            }
            Format::Dcsa => dcsa_events.push(dcsa::event(event).expect(said)),
            Format::Ndjson => {
                text.push_str(&event.to_json());
                text.push('\n');
            }
        }
    }
    for (index, format) in formats.iter().enumerate() {
        match format {
            Format::Edifact => {
                for (number, interchange) in interchanges.drain(..).enumerate() {
                    let control = format!("{:09}", number + 1);
                    written.texts[index].push_str(&interchange.finish(&control));
                }
            }
            Format::Dcsa => {
                written.texts[index] =
                    serde_json::to_string_pretty(&dcsa_events).expect("json values serialize");
            }
            Format::CargoImp | Format::Ndjson => {}
        }
    }
    written
}
