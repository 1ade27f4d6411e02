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

/// Whether a partition is read to its end, from the consumer's position (`None` while the
/// partition has delivered nothing) and the watermarks of its last fetch ([`known_watermarks`]).
/// On a topic written in transactions (`markers`) a commit marker takes the offset after a
/// transaction's last record, so a position one short of the high watermark is the end. A
/// partition that has delivered nothing is at its end only if it holds nothing at all: one never
/// written to (a new topic's, or one no key has hashed to yet) does not hold the others back.
pub fn read_to_end(position: Option<i64>, low: i64, high: i64, markers: bool) -> bool {
    match position {
        Some(position) if markers => high - position <= 1,
        Some(position) => position >= high,
        None => low >= high,
    }
}

#[cfg(test)]
mod tests {
    use super::read_to_end;

    #[test]
    fn a_partition_is_at_its_end_at_its_high_watermark() {
        // read to the high watermark, or past the commit marker of the last transaction
        assert!(read_to_end(Some(10), 0, 10, false));
        assert!(read_to_end(Some(10), 0, 10, true));
        assert!(read_to_end(Some(9), 0, 10, true));
        // records still to read
        assert!(!read_to_end(Some(9), 0, 10, false));
        assert!(!read_to_end(Some(8), 0, 10, true));
    }

    #[test]
    fn a_partition_that_delivered_nothing_is_at_its_end_only_when_empty() {
        // never written to, or emptied by retention
        assert!(read_to_end(None, 0, 0, false));
        assert!(read_to_end(None, 7, 7, true));
        // records it has not delivered yet
        assert!(!read_to_end(None, 0, 3, false));
        assert!(!read_to_end(None, 5, 6, true));
    }
}
