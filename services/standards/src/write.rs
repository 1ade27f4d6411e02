//! Events in the standards their kinds of source use, for the simulator: each event goes to the
//! first of the chosen formats that can say it exactly (the same event comes back when the
//! message is read), and the rest stays kouan's NDJSON.

use crate::cargo_imp::write::{fsu, FlightLegs};
use crate::dcsa::write as dcsa;
use crate::edifact::syntax::Separators;
use crate::edifact::write::InterchangeWriter;
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

/// What the writer made: the text of each chosen format, and the NDJSON lines of the rest.
#[derive(Debug, Default)]
pub struct Written {
    pub texts: Vec<(Format, String)>,
    pub rest: String,
    pub counts: Vec<(Format, u64)>,
    pub rest_count: u64,
    /// For each line, the index in `formats` of the format it went to (`None`: the rest).
    pub placed: Vec<Option<usize>>,
}

/// Writes every delivered line (valid events, already decoded, or raw NDJSON for an injected
/// malformed record) in the first of `formats` that can say it; `zone` is every source's clock.
pub fn write_all(lines: &[Result<Event, String>], formats: &[Format], zone: Tz) -> Written {
    let events: Vec<&Event> = lines.iter().filter_map(|line| line.as_ref().ok()).collect();
    let mut legs = FlightLegs::default();
    for event in &events {
        legs.learn(event);
    }
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
        Format::Edifact => {
            InterchangeWriter::new(Separators::default(), &event.source, zone).push(event)
        }
        Format::CargoImp => fsu(event, &type_b_address(&event.source), zone, &legs).is_some(),
        Format::Dcsa => dcsa::event(event).is_some(),
        Format::Ndjson => true,
    };
    let route: HashMap<(&str, &str), usize> = versions
        .iter()
        .filter_map(|(key, group)| {
            let retracted = group.iter().any(|event| event.retracted);
            formats
                .iter()
                .position(|format| {
                    (*format == Format::Edifact || *format == Format::Ndjson || !retracted)
                        && group.iter().all(|event| says(*format, event))
                })
                .map(|index| (*key, index))
        })
        .collect();

    let mut written = Written {
        texts: formats
            .iter()
            .map(|format| (*format, String::new()))
            .collect(),
        counts: formats.iter().map(|format| (*format, 0)).collect(),
        ..Written::default()
    };
    let mut interchange: Option<InterchangeWriter> = None;
    let mut interchanges = 0u64;
    let mut dcsa_events: Vec<serde_json::Value> = Vec::new();
    let flush = |interchange: &mut Option<InterchangeWriter>,
                 written: &mut Written,
                 interchanges: &mut u64| {
        if let Some(done) = interchange.take().filter(|w| !w.is_empty()) {
            *interchanges += 1;
            let control = format!("{interchanges:09}");
            if let Some((_, text)) = written
                .texts
                .iter_mut()
                .find(|(f, _)| *f == Format::Edifact)
            {
                text.push_str(&done.finish(&control));
            }
        }
    };
    for line in lines {
        let event = match line {
            Ok(event) => event,
            Err(raw) => {
                written.rest.push_str(raw);
                written.rest.push('\n');
                written.rest_count += 1;
                written.placed.push(None);
                continue;
            }
        };
        let Some(&index) = route.get(&(&*event.source, event.event_id.as_str())) else {
            written.placed.push(None);
            written.rest.push_str(&event.to_json());
            written.rest.push('\n');
            written.rest_count += 1;
            continue;
        };
        let placed = match formats[index] {
            Format::Edifact => {
                let same_sender = interchange.as_ref().is_some_and(|w| {
                    w.sender() == &*event.source && w.len() < MESSAGES_PER_INTERCHANGE
                });
                if !same_sender {
                    flush(&mut interchange, &mut written, &mut interchanges);
                    interchange = Some(InterchangeWriter::new(
                        Separators::default(),
                        &event.source,
                        zone,
                    ));
                }
                interchange.as_mut().is_some_and(|w| w.push(event))
            }
            Format::CargoImp => match fsu(event, &type_b_address(&event.source), zone, &legs) {
                Some(text) => {
                    written.texts[index].1.push_str(&text);
                    true
                }
                None => false,
            },
            Format::Dcsa => match dcsa::event(event) {
                Some(value) => {
                    dcsa_events.push(value);
                    true
                }
                None => false,
            },
            Format::Ndjson => {
                written.texts[index].1.push_str(&event.to_json());
                written.texts[index].1.push('\n');
                true
            }
        };
        let placed = placed.then_some(index);
        written.placed.push(placed);
        match placed {
            Some(index) => written.counts[index].1 += 1,
            None => {
                written.rest.push_str(&event.to_json());
                written.rest.push('\n');
                written.rest_count += 1;
            }
        }
    }
    flush(&mut interchange, &mut written, &mut interchanges);
    if let Some((_, text)) = written.texts.iter_mut().find(|(f, _)| *f == Format::Dcsa) {
        *text = serde_json::to_string_pretty(&dcsa_events).expect("json values serialize");
    }
    written
}
