//! The alerter's changelog: an alerter restored from it goes on as the one that never stopped.
//! (Alert quality against the simulator's ground truth is in `tests/tests/alert_quality.rs`.)

use kouan_alerter::{Alert, Alerter, Rules};
use kouan_emitter::simulator::{SimConfig, Simulator};
use kouan_model::*;
use kouan_processor::Engine;
use std::collections::BTreeSet;

/// The alerter's changelog as compaction leaves it: the latest value of each key.
#[derive(Default)]
struct Changelog {
    shipments: std::collections::HashMap<String, Option<Vec<u8>>>,
    baselines: std::collections::HashMap<String, Vec<u8>>,
}

impl Changelog {
    /// Writes what changed in `alerter`, as the runner does after each cycle.
    fn write(&mut self, alerter: &mut Alerter) {
        use prost::Message as _;
        let (shipments, baselines) = alerter.take_dirty();
        for id in shipments {
            let record = alerter.shipment_record(&id).map(|r| r.encode_to_vec());
            self.shipments.insert(id, record);
        }
        for key in baselines {
            let record = alerter.baseline_record(&key).encode_to_vec();
            self.baselines
                .insert(kouan_alerter::state::baseline_key(&key), record);
        }
    }

    /// A new alerter from the changelog, as a restarted runner makes it.
    fn restore(&self) -> Alerter {
        use kouan_alerter::state::{BaselineRecord, ShipmentRecord};
        use prost::Message as _;
        let mut alerter = Alerter::new(Rules::default());
        for record in self.baselines.values() {
            alerter.restore_baseline(BaselineRecord::decode(record.as_slice()).unwrap());
        }
        for (id, record) in &self.shipments {
            if let Some(record) = record {
                let record = ShipmentRecord::decode(record.as_slice()).unwrap();
                alerter.restore_shipment(id, record).unwrap();
            }
        }
        let _ = alerter.take_dirty();
        alerter
    }
}

/// An alerter restored from its changelog half-way through a stream gives, from there on, the
/// alerts the one that never stopped gives — and the changelog holds only shipments under way.
#[test]
fn an_alerter_restored_from_its_changelog_goes_on_as_if_never_stopped() {
    let config = SimConfig {
        seed: 33,
        shipments_per_day: 300.0,
        ..SimConfig::default()
    };
    let mut simulator = Simulator::new(config);
    let mut engine = Engine::new();
    let mut original = Alerter::new(Rules::default());
    let mut changelog = Changelog::default();
    let mut restored: Option<Alerter> = None;
    let (mut after_original, mut after_restored) = (Vec::new(), Vec::new());
    let mut affected = BTreeSet::new();
    let (lines, restart_at, batch) = (80_000, 40_000, 1_000);
    for (index, delivered) in simulator.by_ref().take(lines).enumerate() {
        if let Ok(event) = ndjson::decode_line(delivered.line.as_bytes()) {
            engine.apply(event, &mut affected);
        }
        if index % batch != batch - 1 {
            continue;
        }
        let now = delivered.at_unix_millis;
        let mut statuses = Vec::new();
        for id in std::mem::take(&mut affected) {
            statuses.extend(engine.refresh(&id));
        }
        // every shipment judged at every batch: the timer's schedule (which follows thresholds
        // as they were when it was made) is not what is compared here, the state is
        let step = |alerter: &mut Alerter| {
            let mut updates = Vec::new();
            for status in &statuses {
                updates.extend(alerter.observe(status, now));
            }
            updates.extend(alerter.sweep(|_| now));
            updates
        };
        let updates = step(&mut original);
        changelog.write(&mut original);
        if let Some(restored) = restored.as_mut() {
            after_original.extend(updates);
            after_restored.extend(step(restored));
        }
        if index + 1 == restart_at {
            let back = changelog.restore();
            restored = Some(back);
        }
    }
    let key = |a: &Alert| {
        (
            a.alert_id.clone(),
            a.state,
            a.updated_at_millis,
            a.observed_hours.to_bits(),
        )
    };
    assert!(
        after_original.len() > 50,
        "{} updates",
        after_original.len()
    );
    // the same updates; within one tick the order may differ (the restored schedule starts
    // with every shipment due at once)
    let (mut restored, mut original): (Vec<_>, Vec<_>) = (
        after_restored.iter().map(key).collect(),
        after_original.iter().map(key).collect(),
    );
    restored.sort_by_key(|k| (k.2, k.0.clone(), k.1.code(), k.3));
    original.sort_by_key(|k| (k.2, k.0.clone(), k.1.code(), k.3));
    if let Some(at) =
        (0..restored.len().max(original.len())).find(|&i| restored.get(i) != original.get(i))
    {
        panic!(
            "{} updates restored, {} original; first difference at {at}: restored {:?}, original {:?}",
            restored.len(),
            original.len(),
            &restored[at.min(restored.len())..(at + 3).min(restored.len())],
            &original[at.min(original.len())..(at + 3).min(original.len())],
        );
    }
    // what the changelog keeps is the shipments under way (or with an alert open); the
    // finished ones were let go of with a tombstone
    let kept: Vec<kouan_alerter::state::ShipmentRecord> = changelog
        .shipments
        .values()
        .flatten()
        .map(|bytes| prost::Message::decode(bytes.as_slice()).unwrap())
        .collect();
    let ever = changelog.shipments.len();
    assert!(
        kept.iter().all(|r| !r.finished || !r.open.is_empty()),
        "a finished shipment with nothing open is kept"
    );
    assert!(
        kept.len() < ever * 3 / 4,
        "the changelog keeps {} of the {ever} shipments ever seen",
        kept.len()
    );
}
