//! kouan's alerts on dwell-time anomalies, missing milestones and customs trouble.
//!
//! Follow a status record: the [`runner`] reads it from `kouan.status`; the [`alerter`] keeps what
//! it needs of the shipment (where it waits and since when, by `kouan_model::Status`'s predicates),
//! learns [`baseline`]s from finished dwells, and on each record and timer tick checks the
//! [`rules`]; FIRING and RESOLVED updates go to `kouan.alerts` as `kouan_model::Alert` records.
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
