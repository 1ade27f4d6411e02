//! The processor's core alone, without Kafka: events per CPU-second and bytes per active
//! shipment.

use kouan_emitter::simulator::SimConfig;
use kouan_model::Event;
use kouan_processor::replay::Replay;
use std::time::Duration;

pub(super) fn simulated(count: usize, seed: u64) -> Vec<Event> {
    kouan_emitter::simulator::sample(seed, SimConfig::default().shipments_per_day, count)
}

pub(super) fn thread_cpu_seconds() -> f64 {
    cpu_seconds_of("/proc/thread-self/stat").unwrap_or(0.0)
}

/// User and system CPU seconds from a `/proc/…/stat` file.
pub(super) fn cpu_seconds_of(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // fields after the command name in parentheses: utime and stime are the 12th and 13th
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

pub(super) fn resident_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

/// The runner's work without Kafka, in cycles of [`kouan_processor::CYCLE_RECORDS`] as it
/// catches up: the CPU time and resident growth of one pass from a cold start (its memory first
/// taken from the OS), the live heap of a second pass over the same records (counting the heap
/// costs every allocation an atomic add, which `kouan process` does not pay and the CPU time
/// must not include). The second pass's CPU time is reported too: it runs on memory the
/// allocator kept from the first, as a long-running processor whose retention forgets as much
/// as it learns does, and its count costs it less than the first pass's page faults.
pub(super) fn core_run(records: &[Vec<u8>]) -> CoreRun {
    let before = resident_bytes();
    let started = thread_cpu_seconds();
    let replayed = replay(records);
    let cpu = thread_cpu_seconds() - started;
    let grown = resident_bytes() - before;
    let shipments = replayed.engine().shipments().count();
    let parked = replayed.engine().shipments_parked();
    drop(replayed);

    crate::start_counting_heap();
    let heap_before = crate::live_heap_bytes();
    let counted_started = thread_cpu_seconds();
    let replayed = replay(records);
    let counted_cpu = thread_cpu_seconds() - counted_started;
    let heap = (crate::live_heap_bytes() - heap_before) as f64;
    drop(replayed);
    crate::stop_counting_heap();

    let per_shipment = |bytes: f64| bytes / shipments.max(1) as f64;
    CoreRun {
        events_per_cpu_second: records.len() as f64 / cpu.max(1e-9),
        counted_events_per_cpu_second: records.len() as f64 / counted_cpu.max(1e-9),
        resident_per_shipment: per_shipment(grown),
        heap_per_shipment: per_shipment(heap),
        shipments,
        parked,
    }
}

pub(super) struct CoreRun {
    pub events_per_cpu_second: f64,
    /// The second pass: warm allocator, live heap counted.
    pub counted_events_per_cpu_second: f64,
    pub resident_per_shipment: f64,
    pub heap_per_shipment: f64,
    pub shipments: usize,
    /// Of them, finished shipments whose own events are on local disk ([`kouan_processor::park`]).
    pub parked: usize,
}

fn replay(records: &[Vec<u8>]) -> Replay {
    let mut replay = Replay::new(Duration::from_secs(30 * 86_400));
    for chunk in records.chunks(kouan_processor::CYCLE_RECORDS) {
        replay.batch(chunk);
    }
    std::hint::black_box(replay.encoded_bytes);
    replay
}
