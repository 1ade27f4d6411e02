//! kouan's alerts on dwell-time anomalies, missing milestones and customs trouble.
//!
//! - [`rules`]: the rules and their defaults (JSON file).
//! - [`baseline`]: robust dwell baselines per (node, mode, stage), learned from completed dwells.
//! - [`alerter`]: the lifecycle over status records and timers: one FIRING alert per
//!   (shipment, node, kind), updated, then RESOLVED.
//! - [`runner`]: the Kafka runner of `kouan alert` (adopt, replay, live, wall-clock timer).

pub mod alerter;
pub mod baseline;
pub mod rules;
pub mod runner;

pub use alerter::Alerter;
pub use kouan_model::Alert;
pub use rules::Rules;
