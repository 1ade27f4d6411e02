//! The deterministic Zhengzhou-hub simulator (`kouan simulate`).
//!
//! The scenario is a sequence of *waves* — a flight or a China–Europe train with every shipment,
//! container and customs declaration on it — booked at a steady pace. A wave writes all its
//! events at once, sorted by delivery time, and a small heap merges the waves in progress.
//! Because no wave has an event recorded earlier than a day before its booking, everything due
//! more than a day before the next wave's booking can be released safely, so the stream comes
//! out in order while only the waves still in progress are held in memory.
//!
//! - [`config`]: the knobs.
//! - [`network`]: nodes, corridors, air lanes, shippers.
//! - [`wave`]: shared draws, ids, event construction, the container pool.
//! - [`air`], [`rail`], [`customs`]: the scenario itself.
//! - [`delivery`]: messy delivery; [`malform`]: malformed records.
//! - [`truth`]: the ground truth of injected anomalies; [`output`]: writing a run to NDJSON.

pub mod air;
pub mod config;
pub mod customs;
pub mod delivery;
pub mod malform;
pub mod network;
pub mod output;
pub mod rail;
mod rail_legs;
pub mod truth;
pub mod wave;

pub use config::SimConfig;
pub use delivery::Delivered;
pub use truth::Anomaly;

/// A reproducible sample: the first `count` valid events of the simulation seeded `seed` at
/// `shipments_per_day`, everything else at its default.
pub fn sample(seed: u64, shipments_per_day: f64, count: usize) -> Vec<kouan_model::Event> {
    let config = SimConfig {
        seed,
        shipments_per_day,
        ..SimConfig::default()
    };
    Simulator::new(config).events(count)
}

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use wave::{Registry, Wave, DAY};

/// Mean shipments per wave (flights carry 5–30 waybills, trains 20–45 containers of 1–3
/// consignments), used to space waves so that the configured daily volume comes out.
const MEAN_AIR_SHIPMENTS: f64 = 17.5;
const MEAN_RAIL_SHIPMENTS: f64 = 45.5;

/// An endless, deterministic stream of delivered lines.
pub struct Simulator {
    config: SimConfig,
    scenario_rng: ChaCha8Rng,
    delivery_rng: ChaCha8Rng,
    registry: Registry,
    /// Each wave's deliveries sorted by (time, sequence), merged through `heads`: a heap of a
    /// thousand waves is much cheaper than a heap of a hundred thousand lines.
    waves_in_delivery: Vec<VecDeque<Pending>>,
    free_slots: Vec<usize>,
    heads: BinaryHeap<Reverse<(i64, u64, usize)>>,
    sequence: u64,
    next_wave_at: i64,
    mean_wave_gap: f64,
    truth: VecDeque<Anomaly>,
    shipments: u64,
    pending: usize,
}

struct Pending {
    delivered: Delivered,
    sequence: u64,
}

impl Pending {
    fn key(&self) -> (i64, u64) {
        (self.delivered.at_unix_millis, self.sequence)
    }
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        let mean_shipments = config.rail_share * MEAN_RAIL_SHIPMENTS
            + (1.0 - config.rail_share) * MEAN_AIR_SHIPMENTS;
        let mean_wave_gap = DAY as f64 * mean_shipments / config.shipments_per_day.max(1e-3);
        Simulator {
            // two streams, so that changing how messy delivery is leaves the scenario as it was
            scenario_rng: ChaCha8Rng::seed_from_u64(config.seed),
            delivery_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x6465_6c69_7665_7279),
            next_wave_at: config.start_unix_millis,
            config,
            registry: Registry::default(),
            waves_in_delivery: Vec::new(),
            free_slots: Vec::new(),
            heads: BinaryHeap::new(),
            pending: 0,
            sequence: 0,
            mean_wave_gap,
            truth: VecDeque::new(),
            shipments: 0,
        }
    }

    /// The first `count` lines as validated events, in delivery order; lines made malformed on
    /// purpose are skipped. What the processor's tests and benchmarks feed it.
    pub fn events(self, count: usize) -> Vec<kouan_model::Event> {
        self.take(count)
            .filter_map(|delivered| {
                kouan_model::ndjson::decode_line(delivered.line.as_bytes()).ok()
            })
            .collect()
    }

    /// Ground-truth anomalies of the waves generated so far, oldest first; drained by the caller.
    pub fn take_truth(&mut self) -> impl Iterator<Item = Anomaly> + '_ {
        self.truth.drain(..)
    }

    /// Shipments booked so far.
    pub fn shipments(&self) -> u64 {
        self.shipments
    }

    /// Lines waiting for delivery (the memory the simulator holds).
    pub fn pending(&self) -> usize {
        self.pending
    }

    fn generate_wave(&mut self) {
        let booked_from = self.next_wave_at;
        let mut wave = Wave {
            rng: &mut self.scenario_rng,
            registry: &mut self.registry,
            anomaly_rate: self.config.anomaly_rate,
            events: Vec::with_capacity(2048),
            truth: Vec::new(),
            shipments: 0,
        };
        if wave.chance(self.config.rail_share) {
            rail::train(&mut wave, booked_from);
        } else {
            air::flight(&mut wave, booked_from);
        }
        let gap = self.mean_wave_gap * wave.uniform(0.5, 1.5);
        let Wave {
            events,
            truth,
            shipments,
            ..
        } = wave;
        self.next_wave_at += gap as i64;
        self.shipments += shipments;
        self.truth.extend(truth);
        let mut deliveries = Vec::with_capacity(events.len() * 2);
        for event in events {
            let sequence = &mut self.sequence;
            delivery::schedule(
                event,
                &self.config,
                &mut self.delivery_rng,
                &mut self.registry,
                |delivered| {
                    *sequence += 1;
                    deliveries.push(Pending {
                        delivered,
                        sequence: *sequence,
                    });
                },
            );
        }
        deliveries.sort_unstable_by_key(Pending::key);
        let Some(first) = deliveries.first() else {
            return;
        };
        let (at, sequence) = first.key();
        self.pending += deliveries.len();
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.waves_in_delivery[slot] = deliveries.into();
                slot
            }
            None => {
                self.waves_in_delivery.push(deliveries.into());
                self.waves_in_delivery.len() - 1
            }
        };
        self.heads.push(Reverse((at, sequence, slot)));
    }
}

impl Iterator for Simulator {
    type Item = Delivered;

    fn next(&mut self) -> Option<Delivered> {
        loop {
            // waves book no earlier than a day before their booking time: see the module docs
            let safe_until = self.next_wave_at - DAY;
            if let Some(&Reverse((at, _, slot))) = self.heads.peek() {
                if at <= safe_until {
                    self.heads.pop();
                    let queue = &mut self.waves_in_delivery[slot];
                    let head = queue.pop_front().expect("queued waves are never empty");
                    match queue.front() {
                        Some(next) => {
                            let (at, sequence) = next.key();
                            self.heads.push(Reverse((at, sequence, slot)));
                        }
                        None => {
                            *queue = VecDeque::new();
                            self.free_slots.push(slot);
                        }
                    }
                    self.pending -= 1;
                    return Some(head.delivered);
                }
            }
            self.generate_wave();
        }
    }
}
