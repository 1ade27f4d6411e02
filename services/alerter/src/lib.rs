//! kouan's alerts on dwell-time anomalies, missing milestones and customs trouble.
//!
//! Follow a status record: the [`runner`] reads it from `kouan.status` with the watermark it
//! carries; the [`alerter`] reads the shipment's episodes from its milestones (each dwell, each
//! awaited milestone, each customs hold), learns [`baseline`]s from completed dwells, and on each
//! record and when a deadline falls due checks the [`rules`]; FIRING and RESOLVED updates go to
//! `kouan.alerts` as `kouan_model::Alert` records.
//!
//! - [`rules`]: the rules and their defaults (JSON file).
//! - [`baseline`]: robust dwell baselines per (node, mode, stage), learned from completed dwells.
//! - [`episodes`]: what a shipment went through, read from its milestones (pure).
//! - [`alerter`]: the lifecycle over status records and timers: one FIRING alert per
//!   (shipment, node, kind), updated, then RESOLVED.
//! - [`state`]: the alerter's state as records of its compacted changelog, so a restart restores
//!   it instead of re-reading every status.
//! - [`runner`]: the Kafka runner of `kouan alert` (adopt, then one loop for replay and live on
//!   the pipeline's event-time clock).

pub mod alerter;
pub mod baseline;
pub mod episodes;
pub mod rules;
pub mod runner;
pub mod state;

pub use alerter::Alerter;
pub use kouan_model::Alert;
pub use rules::Rules;
