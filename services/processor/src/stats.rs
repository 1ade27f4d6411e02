//! The processor's counters, for logs, metrics and the benchmark.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters for logs, metrics and the benchmark.
#[derive(Debug, Default)]
pub struct ProcessStats {
    pub events: AtomicU64,
    /// Valid events read, per body kind in `BodyKind::ALL` order (one topic each).
    pub events_by_kind: [AtomicU64; 5],
    /// From an event's publication (its Kafka timestamp) to the status records it changed
    /// being handed to the producer; observed per live event.
    pub latency: LatencyHistogram,
    /// How long committing a transaction took (producing its records included: the commit
    /// waits for their acknowledgements), the router's and the shipment stage's: with the
    /// cycles themselves, what a status change waits for twice between publication and readers.
    pub router_commit: LatencyHistogram,
    pub stage_commit: LatencyHistogram,
    pub rejected: AtomicU64,
    /// Event records retention deleted before the router read them (a group resuming past the
    /// start of a partition).
    pub lost: AtomicU64,
    /// Status records (tombstones included) of committed transactions: what readers see.
    pub published: AtomicU64,
    /// Routed events (by-shipment and shared) the shipment stage applied live: beside `events`,
    /// what it has not taken yet (`kouan up` paces itself and says when it caught up by it).
    pub applied: AtomicU64,
    pub forgotten: AtomicU64,
    /// Late events dead-lettered: of shipments already forgotten, and of conveyances nothing
    /// reached before the horizon ([`crate::tenure`]'s late data).
    pub late_forgotten: AtomicU64,
    pub late_unreached: AtomicU64,
    /// Bytes on local disk: the checkpoint file, the park's and the spill's scratch files.
    pub checkpoint_bytes: AtomicU64,
    pub park_bytes: AtomicU64,
    pub spill_bytes: AtomicU64,
    /// By-shipment records read by restores (a partition assigned, restored before it is
    /// processed).
    pub restored: AtomicU64,
    /// Set once the start-up replay is over and records are being published live.
    pub live: AtomicBool,
    /// Event versions the engine holds (owned shipments' and the shared table's).
    pub held: AtomicU64,
    /// Equipment events spilled to local disk, no owned shipment needing them now.
    pub spilled: AtomicU64,
    /// By-shipment partitions owned and restored.
    pub owned: AtomicU64,
    /// True while the last cycle found nothing to read and nothing to publish.
    pub quiet: AtomicBool,
    /// True while the router's last poll found nothing to route.
    pub router_quiet: AtomicBool,
    /// Records on the group's partitions not read yet, refreshed every 5 s.
    pub lag: std::sync::atomic::AtomicI64,
}

/// A fixed-bucket histogram of seconds that threads update without a lock.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    counts: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_micros: AtomicU64,
}

/// Upper bounds (seconds) of the latency buckets; the last bucket is everything above.
pub const LATENCY_BOUNDS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

impl LatencyHistogram {
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// (sum of seconds, count, cumulative (bound, count) per finite bucket).
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BOUNDS.len() + 1);
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = LATENCY_BOUNDS.get(index).copied().unwrap_or(f64::INFINITY);
            buckets.push((bound, cumulative));
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        (sum, cumulative, buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_histogram_counts_cumulatively() {
        let histogram = LatencyHistogram::default();
        for seconds in [0.001, 0.004, 0.3, 0.3, 7.0, 120.0] {
            histogram.observe(seconds);
        }
        let (sum, count, buckets) = histogram.snapshot();
        assert_eq!(count, 6);
        assert!((sum - 127.605).abs() < 1e-3, "{sum}");
        let at = |bound: f64| buckets.iter().find(|(b, _)| *b == bound).unwrap().1;
        assert_eq!(at(0.005), 2);
        assert_eq!(at(0.25), 2);
        assert_eq!(at(0.5), 4);
        assert_eq!(at(10.0), 5);
        assert_eq!(at(60.0), 5);
        assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 6));
    }
}
