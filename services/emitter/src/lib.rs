//! kouan's producers.
//!
//! - [`sink`]: where events go — a Kafka topic per body kind, keyed by the body's natural id —
//!   and where rejected input goes (the dead-letter topic, with the reason in a header).
//! - [`ingest`]: NDJSON file replay (`kouan ingest`), streaming in constant memory.
//! - [`messages`]: the standards' messages once parsed, published.
//! - [`pull`]: a carrier's DCSA Track & Trace events, polled with a cursor kept in Kafka.
//! - [`replay`]: dead letters offered to the pipeline again (`kouan replay-dead-letters`).
//! - [`simulator`]: the deterministic Zhengzhou-hub scenario (`kouan simulate`).

pub mod ingest;
pub mod messages;
pub mod pull;
pub mod replay;
pub mod simulator;
pub mod sink;
