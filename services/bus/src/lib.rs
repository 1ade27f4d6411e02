//! kouan's Kafka plumbing on rdkafka.
//!
//! - [`config`]: client settings that work against Apache Kafka and tansu alike.
//! - [`topics`]: the topic names of API.md (under a configurable namespace) and idempotent creation.
//! - [`publisher`]: a producer that waits when librdkafka's queue is full instead of dropping,
//!   and reports every delivery failure.
//! - [`embedded`]: librdkafka's mock cluster on its own thread, the broker of `kouan up`.
//! - [`reader`]: whole topics from the beginning, outside any group (replays).
//! - [`headers`]: the record headers kouan writes (dead-letter reasons).
//! - [`error`]: the crate's error type.

pub mod config;
pub mod embedded;
pub mod error;
pub mod headers;
pub mod publisher;
pub mod reader;
pub mod topics;

pub use embedded::EmbeddedBroker;
pub use error::BusError;
pub use publisher::{DeliveryReport, Publisher};
pub use topics::Topics;
