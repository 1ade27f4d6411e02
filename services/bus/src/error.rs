//! Errors of the Kafka layer.

use rdkafka::error::KafkaError;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("kafka client error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("topic {topic} could not be created: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("{failed} of {total} records were not delivered; first failure: {first}")]
    Delivery {
        failed: u64,
        total: u64,
        first: String,
    },
    #[error("embedded broker: {0}")]
    Embedded(String),
    #[error("the consumer group moved on without this member (paused or cut off too long)")]
    Fenced,
    #[error("the kafka client hangs: {0}")]
    Stuck(String),
    #[error("topic {0} has no partitions (does it exist?)")]
    NoPartitions(String),
    /// A transactional call librdkafka refused, as its error object tells.
    #[error("transaction failed: {name}: {reason} (fatal: {fatal}, must abort: {abortable}, retriable: {retriable})")]
    Transaction {
        name: String,
        reason: String,
        fatal: bool,
        abortable: bool,
        retriable: bool,
    },
}
