//! kouan's stream processor: events in, the full-process status of each shipment out
//! (`docs/contracts/STATUS.md`).
//!
//! Follow an event: the [`router`] reads it from an event topic (invalid ones go to the dead
//! letters) and writes it to `kouan.internal.by-shipment` (a direct event, in its shipment's
//! partition) or `kouan.internal.shared` (a container's or a conveyance's); the shipment stage
//! ([`runner`], [`tenure`]) applies it to the [`engine`], which finds the shipments it
//! belongs to ([`belonging`]) and derives them again ([`derive`]); a changed status goes to `kouan.status`
//! (`kouan_model::Status`) in the same transaction as the input offsets. [`restore`] reads the
//! internal topics back after a restart; [`retention`] forgets finished shipments.
//!
//! Pure core (the status record it derives is `kouan_model::Status`):
//! - [`versions`]: which version of an event counts (latest recordedTime, retractions).
//! - [`affected`]: the shipments an arrival may have changed, derived again at a cycle's end.
//! - [`belonging`]: which events belong to a shipment (links through units and conveyances).
//! - [`derive`]: the record's fields from a shipment's events.
//! - [`reference`]: the batch reference implementation, for clarity.
//! - [`engine`]: the streaming implementation, incremental and order-independent.
//! - [`names`]: the small sorted sets the engine's relations hold.
//! - [`retention`]: the rule that forgets finished shipments, bounding the state.
//! - [`spill`]: the container history no owned shipment needs now, on local disk.
//! - [`park`]: finished shipments' own events, on local disk.
//! - [`scratch`]: the append-only local file the spill and the park keep their records in.
//! - [`progress`]: how far every input partition has been read in event time — the watermark
//!   stamped on status records.
//! - [`pacing`]: the merge that hands the router's and the shipment stage's input records on in
//!   event-time order across partitions, pausing those read too far ahead.
//!
//! Shell (Kafka):
//! - [`changelog`]: the records of the internal topics that hold the state of record.
//! - [`checkpoint`]: the stage's local checkpoint — its state with the offsets it reflects, so
//!   that a restart reads only what came after.
//! - [`restore`]: reading that state back — the shared table, an owned partition, what
//!   `kouan.status` holds.
//! - [`rebalance`]: the consumer group's assignment changes, as the runner hears of them.
//! - [`router`]: input events to the internal topics (or the dead-letter topic), exactly once.
//! - [`runner`]: `kouan process` — the router beside the shipment stage, which updates the owned
//!   shipments and publishes their changes, one transaction per cycle.
//! - [`tenure`]: the shipment stage between two restores: restore, consume, apply, publish,
//!   apply retention, report.
//! - [`stats`]: counters for logs, metrics and the benchmark.
//! - [`replay`]: the stage's work on records without Kafka, for the benchmarks.

pub mod affected;
pub mod belonging;
pub mod changelog;
pub mod checkpoint;
pub mod derive;
pub mod engine;
pub mod names;
pub mod pacing;
pub mod park;
pub mod progress;
pub mod rebalance;
pub mod reference;
pub mod replay;
pub mod restore;
pub mod retention;
pub mod router;
pub mod runner;
pub mod scratch;
pub mod spill;
pub mod stats;
pub mod tenure;
pub mod versions;

pub use engine::Engine;
pub use reference::reference;

/// Most records the shipment stage applies in one cycle (one transaction), and the batch the
/// benchmarks replay in. Derivation runs once per affected shipment per cycle, over all of its
/// events, so while catching up (a replay, a restart behind, an outage) a bigger cycle derives a
/// shipment once for more of its events: 1M simulated events took ~4.4 s of core time in cycles
/// of 20,000, ~3.6 s in 50,000 and ~3.2 s in 100,000 (mimalloc, this 2-core VM; 520k, 325k and
/// 220k derivations). Live, a cycle holds what arrived during the previous one — a few hundred to
/// a few thousand records — so the cap changes nothing there. Not 100,000: a replay publishes a
/// record per shipment per cycle, and the alerts judged from so few records of a replay through
/// Kafka lost precision (`alert_quality`). Not 20,000: it derives each shipment more often while
/// catching up, which the faster restart no longer pays for (the runs: benchmarks.md).
pub const CYCLE_RECORDS: usize = 50_000;
