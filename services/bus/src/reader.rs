//! Reading whole topics outside any consumer group: what the processor and the alerter do at
//! start-up (replay) and to follow the output of their peers.

use crate::error::BusError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Partitions of `topic`; an error when it has none (it does not exist).
pub fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<i32, BusError> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .first()
        .map_or(0, |t| t.partitions().len());
    if partitions == 0 {
        return Err(BusError::NoPartitions(topic.to_string()));
    }
    Ok(partitions as i32)
}

/// A consumer reading every partition of `topics` from the beginning; `name` only tags the client.
pub fn from_beginning(
    brokers: &str,
    name: &str,
    topics: &[String],
) -> Result<BaseConsumer, BusError> {
    let consumer: BaseConsumer = crate::config::consumer(brokers, name).create()?;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..partitions(&consumer, topic)? {
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Reads until nothing arrives for `idle` (never trusting tansu's low watermark alone).
pub fn drain_until_idle(
    consumer: &BaseConsumer,
    idle: Duration,
    cancel: &CancellationToken,
    mut each: impl FnMut(&BorrowedMessage<'_>),
) {
    let mut quiet_since = Instant::now();
    while !cancel.is_cancelled() && quiet_since.elapsed() < idle {
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(message)) => {
                each(&message);
                quiet_since = Instant::now();
            }
            Some(Err(error)) => tracing::warn!(%error, "reading at start-up"),
            None => {}
        }
    }
}
