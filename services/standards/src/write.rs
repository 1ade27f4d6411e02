//! Events in the standards their kinds of source use, for the simulator: each event goes to the
//! first of the chosen formats that can say it exactly (the same event comes back when the
//! message is read), and the rest stays kouan's NDJSON. Air statuses are spread over the chosen
//! air standards by airline (the waybill's prefix), as each airline speaks one of them.

use crate::cargo_imp::write::{fsu, FlightLegs};
use crate::cargo_xml::write::xfsu;
use crate::dcsa::write as dcsa;
use crate::edifact::syntax::Separators;
use crate::edifact::write::{says as edifact_says, InterchangeWriter};
use crate::format::Format;
use crate::onerecord::write::logistics_event;
use chrono_tz::Tz;
use kouan_model::{Body, Event};
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
        Format::CargoXml => xfsu(event, zone).is_some(),
        Format::Dcsa => dcsa::event(event).is_some(),
        Format::OneRecord => logistics_event(event, &event.source).is_some(),
        Format::Ndjson => true,
    };
    let airlines = airlines(&events);
    let air_formats: Vec<usize> = (0..formats.len())
        .filter(|&index| is_air(formats[index]))
        .collect();
    // the chosen formats in the order this event tries them: its airline's air standard first
    let order = |event: &Event| -> Vec<usize> {
        let mut order: Vec<usize> = (0..formats.len()).collect();
        if let (Some(airline), false) = (airline(event), air_formats.is_empty()) {
            let rank = airlines.iter().position(|a| *a == airline).unwrap_or(0);
            let preferred = air_formats[rank % air_formats.len()];
            order.retain(|&index| index != preferred);
            order.insert(0, preferred);
        }
        order
    };
    // The air standards name an event by its waybill, status and flight or station: two events
    // of kouan's (an erroneous status and the right one, say) with the same name would become
    // versions of one. The first to claim a name (in the order of the input) keeps it; the
    // other stays NDJSON.
    let mut air_names: HashMap<String, (&str, &str)> = HashMap::new();
    let mut route: HashMap<(&str, &str), usize> = HashMap::new();
    for event in &events {
        let key = (&*event.source, event.event_id.as_str());
        if route.contains_key(&key) {
            continue;
        }
        let group = &versions[&key];
        let retracted = group.iter().any(|event| event.retracted);
        let retracts =
            |format: Format| matches!(format, Format::Edifact | Format::CargoXml | Format::Ndjson);
        let name = crate::air::name_of(event);
        let named_by_another = name
            .as_ref()
            .and_then(|name| air_names.get(name))
            .is_some_and(|owner| *owner != key);
        let chosen = order(group[0]).into_iter().find(|&index| {
            let format = formats[index];
            (retracts(format) || !retracted)
                && !(is_air(format) && named_by_another)
                && group.iter().all(|event| says(format, event))
        });
        if let Some(index) = chosen {
            if let (true, Some(name)) = (is_air(formats[index]), name) {
                air_names.insert(name, key);
            }
            route.insert(key, index);
        }
    }

    let mut written = Written {
        texts: vec![String::new(); formats.len()],
        ..Written::default()
    };
    let mut interchanges: Vec<InterchangeWriter> = Vec::new();
    let mut dcsa_events: Vec<serde_json::Value> = Vec::new();
    let mut logistics_events: Vec<serde_json::Value> = Vec::new();
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
            Format::CargoXml => text.push_str(&xfsu(event, zone).expect(said)),
            Format::Dcsa => dcsa_events.push(dcsa::event(event).expect(said)),
            Format::OneRecord => {
                logistics_events.push(logistics_event(event, &event.source).expect(said))
            }
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
            Format::OneRecord => {
                written.texts[index] =
                    serde_json::to_string_pretty(&logistics_events).expect("json values serialize");
            }
            Format::CargoImp | Format::CargoXml | Format::Ndjson => {}
        }
    }
    written
}

fn is_air(format: Format) -> bool {
    matches!(
        format,
        Format::CargoImp | Format::CargoXml | Format::OneRecord
    )
}

/// The airline of an air status: its waybill's three-digit prefix.
fn airline(event: &Event) -> Option<&str> {
    match &event.body {
        Body::Air(air) => air.awb.as_str().split_once('-').map(|(prefix, _)| prefix),
        _ => None,
    }
}

/// Every airline of the events, in order, so each is given the same air standard every run.
fn airlines<'a>(events: &[&'a Event]) -> Vec<&'a str> {
    let mut airlines: Vec<&str> = events.iter().filter_map(|event| airline(event)).collect();
    airlines.sort_unstable();
    airlines.dedup();
    airlines
}
