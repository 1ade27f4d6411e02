//! Consume–transform–produce helpers: reading a cycle's batch and the positions a transaction
//! commits.

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// Up to `max` records, waiting at most `first_wait` for the first one; owned copies, since the
/// transaction that handles them outlives the consumer's buffers. End-of-partition signals are
/// skipped; another error ends the batch (librdkafka reconnects and retries by itself).
pub fn poll_batch<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    max: usize,
    first_wait: Duration,
) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    while batch.len() < max {
        let wait = if batch.is_empty() {
            first_wait
        } else {
            Duration::ZERO
        };
        match consumer.poll(wait) {
            Some(Ok(message)) => batch.push(message.detach()),
            Some(Err(error)) if crate::reader::is_end_of_partition(&error) => {}
            Some(Err(error)) => {
                tracing::warn!(%error, "reading a batch");
                break;
            }
            None => break,
        }
    }
    batch
}

/// The position of every assigned partition: what a transaction commits for its group — also
/// the partitions that did not move, so that every commit proves the member is still in the
/// group's current generation (a zombie's commit is refused and its transaction aborts).
pub fn positions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
) -> Result<TopicPartitionList, KafkaError> {
    let mut offsets = TopicPartitionList::new();
    for element in consumer.position()?.elements() {
        if let Offset::Offset(position) = element.offset() {
            offsets.add_partition_offset(
                element.topic(),
                element.partition(),
                Offset::Offset(position),
            )?;
        }
    }
    Ok(offsets)
}
