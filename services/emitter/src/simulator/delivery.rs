//! Messy delivery, as real sources have it: each event is delivered some time after it was
//! recorded, and — each at its configured rate — delivered twice, delivered hours late when it is
//! a link, later corrected, shadowed by an erroneous twin that is later retracted, or accompanied
//! by a malformed record.

use super::config::SimConfig;
use super::malform;
use super::wave::{Registry, HOUR, MINUTE};
use kouan_model::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One line as a consumer receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Simulated time of delivery, Unix milliseconds; lines come in this order.
    pub at_unix_millis: i64,
    /// One NDJSON line, without the newline.
    pub line: String,
    /// True for an injected malformed record, which validation must reject.
    pub malformed: bool,
}

/// Schedules every delivery of `event` through `deliver`.
pub fn schedule(
    event: Event,
    config: &SimConfig,
    rng: &mut ChaCha8Rng,
    registry: &mut Registry,
    mut deliver: impl FnMut(Delivered),
) {
    let window = (config.reorder_window_secs * 1000.0) as i64;
    let jitter = |rng: &mut ChaCha8Rng| {
        if window > 0 {
            rng.random_range(0..=window)
        } else {
            0
        }
    };
    let chance = |rng: &mut ChaCha8Rng, p: f64| p > 0.0 && rng.random_bool(p.min(1.0));
    let recorded = event.recorded_time().unix_millis();
    let actual = event.classifier() == Classifier::Act;

    let mut at = recorded + jitter(rng);
    if actual && is_link(&event.body) && chance(rng, config.late_link_rate) {
        at += rng.random_range(HOUR..12 * HOUR);
    }
    let line = event.to_json();
    if chance(rng, config.malformed_rate) {
        let bad = malform::corrupt(&event, &line, rng);
        deliver(Delivered {
            at_unix_millis: at,
            line: bad,
            malformed: true,
        });
    }
    if chance(rng, config.duplicate_rate) {
        let again = at + jitter(rng) + rng.random_range(0..MINUTE);
        deliver(Delivered {
            at_unix_millis: again,
            line: line.clone(),
            malformed: false,
        });
    }

    if actual && chance(rng, config.correction_rate) {
        // the source fixes the time it reported, minutes to hours later
        let mut corrected = event.clone();
        let shift = rng.random_range(1..=5) * MINUTE * if rng.random_bool(0.5) { 1 } else { -1 };
        corrected.event_time = corrected.event_time.plus_millis(shift);
        let mut fixed_at = recorded + rng.random_range(10 * MINUTE..6 * HOUR);
        fixed_at -= (fixed_at - recorded).rem_euclid(super::wave::precision_millis(&event.source));
        corrected.recorded_time = Some(event.recorded_time().plus_millis(fixed_at - recorded));
        deliver(Delivered {
            at_unix_millis: fixed_at + jitter(rng),
            line: corrected.to_json(),
            malformed: false,
        });
    }

    if actual && !matches!(event.body, Body::Shipment(_)) && chance(rng, config.retraction_rate) {
        // an erroneous twin, a few hours off, voided later by its source
        let mut twin = event.clone();
        twin.event_id = registry.event_id("ERR").into();
        twin.event_time = twin
            .event_time
            .plus_millis(rng.random_range(HOUR..6 * HOUR));
        let twin_line = twin.to_json();
        deliver(Delivered {
            at_unix_millis: at,
            line: twin_line,
            malformed: false,
        });
        let voided_at = recorded + rng.random_range(HOUR..12 * HOUR);
        twin.retracted = true;
        twin.recorded_time = Some(event.recorded_time().plus_millis(voided_at - recorded));
        deliver(Delivered {
            at_unix_millis: voided_at + jitter(rng),
            line: twin.to_json(),
            malformed: false,
        });
    }

    deliver(Delivered {
        at_unix_millis: at,
        line,
        malformed: false,
    });
}

/// Events that link others to a shipment; real feeds often send these late (loading lists,
/// stuffing reports, manifests).
fn is_link(body: &Body) -> bool {
    match body {
        Body::Equipment(equipment) => matches!(
            equipment.kind,
            EquipmentEventType::Load | EquipmentEventType::Stuf
        ),
        Body::Air(air) => air.status == AirStatus::Man,
        _ => false,
    }
}
