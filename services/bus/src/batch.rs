//! Consume–transform–produce helpers: reading a cycle's batch and the positions a transaction
//! commits.

use crate::error::BusError;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// Up to `max` records, waiting at most `first_wait` for the first one; owned copies, since the
/// transaction that handles them outlives the consumer's buffers. End-of-partition signals are
/// skipped; another error ends the batch (librdkafka reconnects and retries by itself).
pub fn poll_batch<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    max: usize,
    first_wait: Duration,
) -> Vec<OwnedMessage> {
    poll_batch_to_ends(consumer, max, first_wait).0
}

/// [`poll_batch`], and the partitions it read to their end: whose end-of-partition signal came
/// after their last record of the batch.
pub fn poll_batch_to_ends<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    max: usize,
    first_wait: Duration,
) -> (Vec<OwnedMessage>, BTreeSet<i32>) {
    let mut batch = Vec::new();
    let mut ended = BTreeSet::new();
    while batch.len() < max {
        let wait = if batch.is_empty() {
            first_wait
        } else {
            Duration::ZERO
        };
        match consumer.poll(wait) {
            Some(Ok(message)) => {
                ended.remove(&message.partition());
                batch.push(message.detach());
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                ended.insert(partition);
            }
            Some(Err(error)) if crate::reader::is_end_of_partition(&error) => {}
            Some(Err(error)) => {
                tracing::warn!(%error, "reading a batch");
                break;
            }
            None => break,
        }
    }
    (batch, ended)
}

/// What every assigned partition's transaction commits: its position, or `start` for a partition
/// that has delivered nothing yet — also the partitions that did not move, so that every commit
/// proves the member is still in the group's current generation (a zombie's commit is refused
/// and its transaction aborts). An assignment librdkafka already knows is lost is refused here.
pub fn positions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    start: &HashMap<(String, i32), i64>,
) -> Result<TopicPartitionList, BusError> {
    if consumer.assignment_lost() {
        return Err(BusError::Fenced);
    }
    let positions = consumer.position()?;
    let mut offsets = TopicPartitionList::new();
    for element in consumer.assignment()?.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let position = positions
            .find_partition(topic, partition)
            .and_then(|found| match found.offset() {
                Offset::Offset(position) => Some(position),
                _ => None,
            })
            .or_else(|| start.get(&(topic.to_string(), partition)).copied());
        if let Some(position) = position {
            offsets.add_partition_offset(topic, partition, Offset::Offset(position))?;
        }
    }
    Ok(offsets)
}

/// Where the group left `partitions` (the committed offsets; 0 where none), for [`positions`].
pub fn committed<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partitions: &[i32],
) -> Result<HashMap<(String, i32), i64>, BusError> {
    let mut asked = TopicPartitionList::new();
    for partition in partitions {
        asked.add_partition(topic, *partition);
    }
    let answered = consumer.committed_offsets(asked, crate::timing::OFFSETS)?;
    Ok(answered
        .elements()
        .iter()
        .map(|element| {
            let offset = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => 0,
            };
            ((element.topic().to_string(), element.partition()), offset)
        })
        .collect())
}

/// The low and high watermarks of `topic`/`partition` as the consumer's last fetch response
/// told them: local, no request to the broker (librdkafka's `rd_kafka_get_watermark_offsets`,
/// which rust-rdkafka does not wrap; `fetch_watermarks` asks the broker). `None` before any fetch
/// of the partition.
pub fn known_watermarks<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partition: i32,
) -> Option<(i64, i64)> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1_i64, -1_i64);
    // SAFETY: the client pointer is valid while `consumer` is borrowed; the topic is a
    // NUL-terminated string that outlives the call; librdkafka only writes the two offsets.
    let error = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (error == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
        .then_some((low, high))
}
