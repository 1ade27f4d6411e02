//! A wave is one conveyance's worth of the scenario — a flight or a train with every shipment on
//! it, their containers and their customs declarations. This module holds what waves share: the
//! random draws, id minting, event construction and the container pool.

use super::network::{Node, CONTAINER_OWNERS};
use super::truth::Anomaly;
use kouan_model::ids::make_container_number;
use kouan_model::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// State that outlives a wave: the id counters and the pool of empty containers.
#[derive(Debug, Default)]
pub struct Registry {
    next_event: u64,
    next_shipment: u64,
    next_declaration: u64,
    next_container: u32,
    pub next_awb_serial: u32,
    pub next_train: u32,
    /// Empty containers by the time they become available again.
    pool: BinaryHeap<Reverse<(i64, String)>>,
}

impl Registry {
    /// `PREFIX-0000000042`: unique across sources, since one counter numbers them all.
    pub fn event_id(&mut self, prefix: &str) -> String {
        self.next_event += 1;
        let mut id = String::with_capacity(prefix.len() + 11);
        id.push_str(prefix);
        id.push('-');
        let mut digits = [b'0'; 10];
        let mut rest = self.next_event;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        id.push_str(std::str::from_utf8(&digits).expect("ascii digits"));
        id
    }

    pub fn rail_waybill(&mut self, direction: Direction) -> String {
        self.next_shipment += 1;
        let tag = if direction == Direction::Export {
            "ZZHH"
        } else {
            "HHZZ"
        };
        format!("{tag}{:010}", self.next_shipment)
    }

    pub fn declaration_number(&mut self, port: &Node) -> String {
        self.next_declaration += 1;
        // customs district code (4 digits), year, then a 10-digit serial: 18 digits in all
        let district = if port.unlocode == "CNCGO" {
            "4618"
        } else {
            "4604"
        };
        format!("{district}2026{:010}", self.next_declaration)
    }

    /// A container free at `at`: the one waiting longest in the pool, else a new one.
    pub fn take_container(&mut self, at: i64) -> String {
        if let Some(Reverse((free_from, _))) = self.pool.peek() {
            if *free_from <= at {
                let Reverse((_, container)) = self.pool.pop().expect("peeked");
                return container;
            }
        }
        self.next_container += 1;
        let owner = CONTAINER_OWNERS[self.next_container as usize % CONTAINER_OWNERS.len()];
        make_container_number(owner, 'U', self.next_container)
    }

    pub fn return_container(&mut self, container: String, free_from: i64) {
        self.pool.push(Reverse((free_from, container)));
    }
}

/// The events and ground truth of one wave under construction.
pub struct Wave<'a> {
    pub rng: &'a mut ChaCha8Rng,
    pub registry: &'a mut Registry,
    pub anomaly_rate: f64,
    pub events: Vec<Event>,
    pub truth: Vec<Anomaly>,
    /// Shipments booked in this wave.
    pub shipments: u64,
}

impl Wave<'_> {
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        if high <= low {
            return low;
        }
        self.rng.random_range(low..high)
    }

    pub fn uniform_ms(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        self.rng.random_range(low..high)
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.rng.random_bool(probability.min(1.0))
    }

    pub fn count(&mut self, low: u32, high_inclusive: u32) -> u32 {
        self.rng.random_range(low..=high_inclusive)
    }

    /// A heavy-tailed duration: log-normal with the given median and 90th percentile, in ms.
    pub fn skewed_hours(&mut self, median_hours: f64, p90_hours: f64) -> i64 {
        let sigma = (p90_hours / median_hours).ln() / 1.281_551_6;
        let distribution = LogNormal::new(median_hours.ln(), sigma).expect("valid parameters");
        (distribution.sample(self.rng) * HOUR as f64) as i64
    }

    pub fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// Picks by weight: `items` pairs each choice with its share.
    pub fn pick_weighted<'t, T>(&mut self, items: &'t [(T, f64)]) -> &'t T {
        let total: f64 = items.iter().map(|(_, share)| share).sum();
        let mut draw = self.uniform(0.0, total);
        for (item, share) in items {
            if draw < *share {
                return item;
            }
            draw -= share;
        }
        &items[items.len() - 1].0
    }

    /// Records an actual event: the source records it between a few seconds and a quarter of an
    /// hour after it happened.
    pub fn actual(&mut self, source: &str, at: i64, node: Option<&Node>, body: Body) {
        let lag = self.uniform_ms(5_000, 15 * MINUTE);
        self.push(source, at, at + lag, Classifier::Act, node, body);
    }

    /// Records an estimate or a plan issued at `issued` about `at`.
    pub fn forecast(
        &mut self,
        classifier: Classifier,
        source: &str,
        issued: i64,
        at: i64,
        node: Option<&Node>,
        body: Body,
    ) {
        self.push(source, at, issued, classifier, node, body);
    }

    fn push(
        &mut self,
        source: &str,
        at: i64,
        recorded: i64,
        classifier: Classifier,
        node: Option<&Node>,
        body: Body,
    ) {
        let offset_hours = node.map_or(8, |node| node.utc_offset_hours);
        // A source whose messages carry minutes (Cargo-IMP) records minutes
        let step = precision_millis(source);
        let (at, recorded) = (
            at - at.rem_euclid(step),
            recorded - recorded.rem_euclid(step),
        );
        let event = Event {
            event_id: self.registry.event_id(source_prefix(source)).into(),
            source: source.into(),
            event_time: local_time(at, offset_hours),
            recorded_time: Some(local_time(recorded, offset_hours)),
            classifier: (classifier != Classifier::Act).then_some(classifier),
            location: node.map(location).map(std::sync::Arc::new),
            retracted: false,
            body,
        };
        self.events.push(event);
    }

    pub fn anomaly(&mut self, shipment_id: &str, node: &Node, kind: AlertKind, start: i64) {
        self.truth.push(Anomaly {
            shipment: shipment_id.to_string(),
            node: node.unlocode.to_string(),
            kind,
            start: local_time(start, node.utc_offset_hours),
        });
    }
}

/// The resolution of a source's clock in its own messages: Cargo-IMP statuses and their
/// envelopes say minutes, every other simulated source seconds or better.
pub fn precision_millis(source: &str) -> i64 {
    if source == SOURCE_AIR_CARGO {
        MINUTE
    } else {
        1
    }
}

/// Short event-id prefixes per source, as real systems number their messages.
fn source_prefix(source: &str) -> &'static str {
    match source {
        SOURCE_AIR_CARGO => "FSU",
        SOURCE_AIR_OPS => "FLT",
        SOURCE_RAIL => "TRN",
        SOURCE_YARD => "EQP",
        SOURCE_CUSTOMS => "SW",
        _ => "BKG",
    }
}

pub const SOURCE_BOOKING: &str = "kouan-booking";
pub const SOURCE_AIR_CARGO: &str = "cgo-cargo";
pub const SOURCE_AIR_OPS: &str = "cgo-flight-ops";
pub const SOURCE_RAIL: &str = "zz-rail";
pub const SOURCE_YARD: &str = "zz-yard";
pub const SOURCE_CUSTOMS: &str = "single-window";

/// Whole seconds in the node's local offset.
pub fn local_time(unix_millis: i64, offset_hours: i32) -> Timestamp {
    Timestamp::from_parts(unix_millis.div_euclid(1000), 0, offset_hours * 3600)
        .expect("simulated times are in range")
}

/// The node's code and facility; names are left to the reader's reference data, as most feeds do.
pub fn location(node: &Node) -> Location {
    Location {
        unlocode: node.unlocode.to_string(),
        facility: Some(node.facility.to_string()),
        name: None,
    }
}

/// `YYYYMMDD` of a Unix-millisecond instant at a node, for conveyance references.
pub fn local_date(unix_millis: i64, node: &Node) -> String {
    local_time(unix_millis, node.utc_offset_hours)
        .to_datetime()
        .format("%Y%m%d")
        .to_string()
}
