//! Malformed records, made only when asked: each breaks exactly one rule of EVENTS.md's
//! "Invalid input", so validation must reject it.

use kouan_model::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A broken variant of `event`, whose valid NDJSON form is `line`.
pub fn corrupt(event: &Event, line: &str, rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..6) {
        // cut short in transit
        0 => line[..line.len() / 2].to_string(),
        // a local time without its offset
        1 => {
            let key = "\"eventTime\":\"";
            let start = line.find(key).expect("every event has an eventTime") + key.len();
            let end = start + line[start..].find('"').expect("closed string");
            format!("{}{}", &line[..end - "+08:00".len()], &line[end..])
        }
        // an enum value the contract does not list
        2 => line.replacen(&format!("\"{}\"", event.body.code()), "\"UNKNOWN\"", 1),
        // a required field left out
        3 => {
            let mut value: serde_json::Value = serde_json::from_str(line).expect("valid json");
            value.as_object_mut().expect("object").remove("source");
            value.to_string()
        }
        // an identifier with a wrong check digit or the wrong length
        4 => broken_identifier(event).to_json(),
        // a malformed UN/LOCODE
        _ => {
            let mut bad = event.clone();
            bad.location = Some(std::sync::Arc::new(Location {
                unlocode: "CN-ZZ".to_string(),
                facility: None,
                name: None,
            }));
            bad.to_json()
        }
    }
}

fn broken_identifier(event: &Event) -> Event {
    let mut bad = event.clone();
    let bump_last_digit = |id: &mut kouan_model::Id| {
        let last = id.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
        id.push(char::from_digit((last + 1) % 10, 10).expect("digit"));
    };
    match &mut bad.body {
        Body::Equipment(equipment) if equipment.equipment_reference.len() == 11 => {
            bump_last_digit(&mut equipment.equipment_reference)
        }
        Body::Air(air) => bump_last_digit(&mut air.awb),
        Body::Customs(customs) => {
            customs.declaration_number.pop();
        }
        Body::Shipment(shipment) => shipment.origin = Some("ZZP".to_string()),
        Body::Transport(_) | Body::Equipment(_) => {
            bad.location = Some(std::sync::Arc::new(Location {
                unlocode: "cnzzp".to_string(),
                facility: None,
                name: None,
            }))
        }
    }
    bad
}
