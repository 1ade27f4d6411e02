//! Alert quality against the simulator's ground truth: the pure pipeline (simulator → the
//! processor's engine → the alerter) at a given pace, and the score of any set of alerts — the
//! pure tests and the end-to-end replay through Kafka are scored the same way.

use kouan_alerter::{Alert, Alerter, Rules};
use kouan_emitter::simulator::{Anomaly, SimConfig, Simulator};
use kouan_model::{ndjson, AlertState};
use kouan_processor::Engine;
use std::collections::{BTreeSet, HashSet};

pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// How the pipeline delivers: live-paced (a record every 200 events, the clock the simulated
/// delivery time), or all at once (the processor's cycle of 20,000 events per record, the clock
/// the processor's event-time watermark stamped on the records).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pace {
    Live,
    AtOnce,
}

/// What a run gives: every alert update, the ground truth, and the clock at the end.
pub struct Run {
    pub updates: Vec<Alert>,
    pub truth: Vec<Anomaly>,
    pub end: i64,
}

/// The scenario of the quality tests: seed 21, 300 shipments a day, messy delivery, from `start`.
pub fn scenario(start_unix_millis: Option<i64>) -> SimConfig {
    let mut config = SimConfig {
        seed: 21,
        shipments_per_day: 300.0,
        ..SimConfig::default()
    };
    if let Some(start) = start_unix_millis {
        config.start_unix_millis = start;
    }
    config
}

/// Streams `lines` of the simulator through the processor's engine and the alerter, with the
/// alerter's timer every simulated `tick` and a sweep every simulated day.
pub fn run(config: SimConfig, lines: usize, tick: i64, pace: Pace) -> Run {
    let mut simulator = Simulator::new(config);
    let mut engine = Engine::new();
    let mut alerter = Alerter::new(Rules::default());
    let mut updates = Vec::new();
    let mut affected = BTreeSet::new();
    let mut next_tick = i64::MIN;
    let mut next_sweep = i64::MIN;
    let mut now = 0;
    let batch = match pace {
        Pace::Live => 200,
        Pace::AtOnce => 20_000,
    };
    for (index, delivered) in simulator.by_ref().take(lines).enumerate() {
        if let Ok(event) = ndjson::decode_line(delivered.line.as_bytes()) {
            engine.apply(event, &mut affected);
        }
        now = match pace {
            Pace::Live => delivered.at_unix_millis,
            Pace::AtOnce => engine.watermark_millis(),
        };
        if index % batch == batch - 1 {
            for id in std::mem::take(&mut affected) {
                if let Some(status) = engine.refresh(&id) {
                    updates.extend(alerter.observe(&status, now));
                }
            }
        }
        if now >= next_tick && (pace == Pace::Live || index % batch == batch - 1) {
            updates.extend(alerter.tick(now));
            next_tick = now + tick;
        }
        if now >= next_sweep && (pace == Pace::Live || index % batch == batch - 1) {
            updates.extend(alerter.sweep(|_| now));
            next_sweep = now + DAY;
        }
    }
    let truth = simulator.take_truth().collect();
    Run {
        updates,
        truth,
        end: now,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Quality {
    pub precision: f64,
    pub recall: f64,
}

/// Precision and recall of the (shipment, node) pairs alerted against the injected anomalies;
/// recall counts the anomalies that began at least 20 days before `end` (time to show).
pub fn score(label: &str, updates: &[Alert], truth: &[Anomaly], end: i64) -> Quality {
    let firing: Vec<&Alert> = updates
        .iter()
        .filter(|alert| alert.state == AlertState::Firing)
        .collect();
    let fired: HashSet<(String, String)> = firing
        .iter()
        .map(|alert| (alert.shipment_id.clone(), alert.node.clone()))
        .collect();
    let injected: HashSet<(String, String)> = truth
        .iter()
        .map(|a| (a.shipment.clone(), a.node.clone()))
        .collect();
    let due: HashSet<(String, String)> = truth
        .iter()
        .filter(|a| a.start.unix_millis() < end - 20 * DAY)
        .map(|a| (a.shipment.clone(), a.node.clone()))
        .collect();
    let true_positives = fired.iter().filter(|key| injected.contains(*key)).count();
    let precision = true_positives as f64 / fired.len().max(1) as f64;
    let found = due.iter().filter(|key| fired.contains(*key)).count();
    let recall = found as f64 / due.len().max(1) as f64;
    println!(
        "{label}: precision {precision:.3} ({true_positives} of {} alerts), recall {recall:.3} ({found} of {} anomalies due)",
        fired.len(),
        due.len()
    );
    let mut false_by_kind: std::collections::BTreeMap<(String, String), HashSet<&str>> =
        Default::default();
    for alert in firing
        .iter()
        .filter(|a| !injected.contains(&(a.shipment_id.clone(), a.node.clone())))
    {
        false_by_kind
            .entry((
                alert.kind.code().to_string(),
                format!("{} {}", alert.node, alert.stage),
            ))
            .or_default()
            .insert(&alert.shipment_id);
    }
    let false_by_kind: std::collections::BTreeMap<_, usize> = false_by_kind
        .into_iter()
        .map(|(k, v)| (k, v.len()))
        .collect();
    println!("{label}: false alarms by kind: {false_by_kind:?}");
    let mut missed_by_kind: std::collections::BTreeMap<(String, String), Vec<&str>> =
        Default::default();
    for anomaly in truth.iter().filter(|a| {
        let key = (a.shipment.clone(), a.node.clone());
        due.contains(&key) && !fired.contains(&key)
    }) {
        missed_by_kind
            .entry((anomaly.kind.code().to_string(), anomaly.node.clone()))
            .or_default()
            .push(&anomaly.shipment);
    }
    if !missed_by_kind.is_empty() {
        println!("{label}: missed by kind: {missed_by_kind:?}");
    }
    assert!(due.len() > 200, "{} anomalies due", due.len());
    Quality { precision, recall }
}
