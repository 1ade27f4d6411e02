//! Every wait kouan's Kafka clients use, named once. Services read these rather than spelling
//! durations where they call rdkafka, so a broker that answers slowly is tuned for in one place.

use std::time::Duration;

/// How long one poll of a follower waits for a record.
pub const POLL: Duration = Duration::from_millis(50);
/// How long a processing cycle waits for its first record before it works with what it has.
pub const CYCLE_WAIT: Duration = Duration::from_millis(20);
/// How long a metadata request (a topic's partitions) may take, and how long a topic created a
/// moment ago may take to appear in it.
pub const METADATA: Duration = Duration::from_secs(10);
/// Between two metadata requests while a topic is not visible yet.
pub const METADATA_RETRY: Duration = Duration::from_millis(200);
/// An admin operation (create, describe, delete records).
pub const ADMIN: Duration = Duration::from_secs(30);
/// Asking a partition's watermarks: for the end of a catch-up, and for lag reports.
pub const WATERMARKS: Duration = Duration::from_secs(5);
/// Between two looks at whether a partition's open transactions have ended.
pub const SETTLE_RETRY: Duration = Duration::from_millis(50);
/// Committed-offset lookups and sending offsets to a transaction.
pub const OFFSETS: Duration = Duration::from_secs(30);
/// How long a transaction may stay open before the broker aborts it: an instance killed
/// mid-transaction holds back read_committed readers of the partitions it wrote that long.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long past its own timeout a librdkafka call that is known to overstay it is waited for
/// (see `Publisher::commit`).
pub const OVERSTAY: Duration = Duration::from_secs(5);
/// Initialising and committing a transaction (the coordinator may be electing).
pub const TRANSACTION: Duration = Duration::from_secs(60);
/// Aborting a transaction.
pub const ABORT: Duration = Duration::from_secs(30);
/// Delivering what is queued when a service stops.
pub const FLUSH: Duration = Duration::from_secs(30);
/// How often runners report their lag.
pub const LAG_REPORT: Duration = Duration::from_secs(5);
