//! kouan's stream processor: events in, the full-process status of each shipment out
//! (`shared/contract/STATUS.md`).
//!
//! Pure core:
//! - [`status`]: the status record as plain data, its protobuf form and digest.
//! - [`versions`]: which version of an event counts (latest recordedTime, retractions).
//! - [`belonging`]: which events belong to a shipment (links through units and conveyances).
//! - [`derive`]: the record's fields from a shipment's events.
//! - [`reference`]: the batch reference implementation, for clarity.
//! - [`engine`]: the streaming implementation, incremental and order-independent.
//! - [`retention`]: the rule that forgets finished shipments, bounding the state.
//!
//! Shell:
//! - [`membership`]: live instances by heartbeat, and the buckets each owns.
//! - [`runner`]: the Kafka runner of `kouan process` (replay, ownership of buckets,
//!   publishing changes, dead letters, retention).

pub mod belonging;
pub mod derive;
pub mod engine;
pub mod membership;
pub mod reference;
pub mod retention;
pub mod runner;
pub mod status;
pub mod versions;

pub use engine::Engine;
pub use reference::reference;
pub use status::Status;
