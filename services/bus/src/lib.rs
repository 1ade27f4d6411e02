//! kouan's Kafka plumbing on rdkafka: how every service reads and writes the topics of API.md.
//! Producers write through the [`publisher`] (placed by the [`partitioner`] where co-partitioning
//! matters, in transactions where a cycle must be exactly once); consumers either join a group
//! ([`config::group_member`], the processor) or read outside one through the [`follower`] (the
//! alerter, the query service, restores).
//!
//! - [`config`]: client settings, each named once.
//! - [`topics`]: the topic names of API.md (under a configurable namespace) and idempotent creation.
//! - [`publisher`]: a producer that waits when librdkafka's queue is full instead of dropping,
//!   and reports every delivery failure.
//! - [`embedded`]: librdkafka's mock cluster on its own thread, the broker of `kouan up`.
//! - [`reader`]: consumers outside any group, from the beginning, committed records only.
//! - [`follower`]: reading one until caught up (one definition: the high watermarks of the
//!   start), then on, with the lag exposed — every runner's way of reading a topic.
//! - [`settled`]: waiting out the transactions open on partitions before restoring them whole.
//! - [`partitioner`]: Kafka's default partitioner, to place records by shipment explicitly.
//! - [`checkpoint_file`]: local checkpoint files (the processor's, the query store's) and the
//!   rules that say whether Kafka still holds what came after one.
//! - [`batch`]: a cycle's batch of records and the positions its transaction commits.
//! - [`timing`]: every wait of the Kafka clients, named once.
//! - [`watermarks`]: several partitions' watermarks asked at once.
//! - [`headers`]: the record headers kouan writes (dead-letter reasons, the status watermark).
//! - [`event_clock`]: the pipeline's "now" from the watermarks on `kouan.status`.
//! - [`error`]: the crate's error type.

pub mod batch;
pub mod checkpoint_file;
pub mod config;
pub mod embedded;
pub mod error;
pub mod event_clock;
pub mod follower;
pub mod headers;
pub mod partitioner;
pub mod publisher;
pub mod reader;
pub mod settled;
pub mod timing;
pub mod topics;
pub mod watermarks;

pub use embedded::EmbeddedBroker;
pub use error::BusError;
pub use event_clock::EventClock;
pub use follower::Follower;
pub use publisher::{DeliveryReport, Placed, Publisher};
pub use topics::Topics;
