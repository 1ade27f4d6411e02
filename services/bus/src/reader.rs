//! Readers: consumers outside any group, assigned whole topics or some partitions from the
//! beginning, that see committed records only and signal each partition's end
//! (`enable.partition.eof`). [`crate::follower`] reads them.

use crate::error::BusError;
use crate::timing;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

/// Partitions of `topic`; an error when it has none (it does not exist). A topic created a moment
/// ago may not be in the broker's metadata yet: asked again for up to 10 s.
pub fn partitions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
) -> Result<i32, BusError> {
    let deadline = std::time::Instant::now() + timing::METADATA;
    loop {
        let metadata = consumer.fetch_metadata(Some(topic), timing::METADATA)?;
        let partitions = metadata
            .topics()
            .first()
            .filter(|t| t.error().is_none())
            .map_or(0, |t| t.partitions().len());
        if partitions > 0 {
            return Ok(partitions as i32);
        }
        if std::time::Instant::now() >= deadline {
            return Err(BusError::NoPartitions(topic.to_string()));
        }
        std::thread::sleep(timing::METADATA_RETRY);
    }
}

/// The client context of readers: the end-of-partition signal is expected, not an error worth a
/// log line (librdkafka reports the ones still queued when a reader is dropped as errors).
#[derive(Default)]
pub struct ReaderContext;

impl rdkafka::ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !is_end_of_partition(&error) {
            tracing::error!(%error, reason, "librdkafka");
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// A consumer of [`reader`].
pub type Reader = BaseConsumer<ReaderContext>;

/// A reader outside any group: committed records only, end-of-partition signals on.
pub fn reader(brokers: &str, name: &str) -> Result<Reader, BusError> {
    let mut config = crate::config::consumer(brokers, name);
    config
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true");
    Ok(config.create_with_context(ReaderContext)?)
}

/// A reader of every partition of `topics` from the beginning; `name` only tags the client.
pub fn from_beginning(brokers: &str, name: &str, topics: &[String]) -> Result<Reader, BusError> {
    let consumer = reader(brokers, name)?;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..partitions(&consumer, topic)? {
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// A reader of some partitions of `topic` from their beginning.
pub fn partitions_from_beginning(
    brokers: &str,
    name: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<Reader, BusError> {
    let starts: Vec<(i32, Offset)> = partitions.iter().map(|p| (*p, Offset::Beginning)).collect();
    partitions_at(brokers, name, topic, &starts)
}

/// A reader of some partitions of `topic`, each from the offset given with it.
pub fn partitions_at(
    brokers: &str,
    name: &str,
    topic: &str,
    starts: &[(i32, Offset)],
) -> Result<Reader, BusError> {
    let consumer = reader(brokers, name)?;
    let mut assignment = TopicPartitionList::new();
    for (partition, offset) in starts {
        assignment.add_partition_offset(topic, *partition, *offset)?;
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// A reader of every partition of `topic`, each from the offset `starts` gives it (from the
/// beginning when it gives none).
pub fn from_offsets(
    brokers: &str,
    name: &str,
    topic: &str,
    starts: &std::collections::BTreeMap<i32, i64>,
) -> Result<Reader, BusError> {
    let consumer = reader(brokers, name)?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions(&consumer, topic)? {
        let offset = starts
            .get(&partition)
            .map_or(Offset::Beginning, |offset| Offset::Offset(*offset));
        assignment.add_partition_offset(topic, partition, offset)?;
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// A reader of every partition of each topic, from the next offsets given for partitions
/// 0, 1, … (a partition not listed from the beginning).
pub fn from_positions(
    brokers: &str,
    name: &str,
    starts: &[(String, Vec<i64>)],
) -> Result<Reader, BusError> {
    let consumer = reader(brokers, name)?;
    let mut assignment = TopicPartitionList::new();
    for (topic, offsets) in starts {
        for partition in 0..partitions(&consumer, topic)? {
            let offset = offsets
                .get(partition as usize)
                .map_or(Offset::Beginning, |offset| Offset::Offset(*offset));
            assignment.add_partition_offset(topic, partition, offset)?;
        }
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Whether a poll result is only the end-of-partition signal (not an error).
pub fn is_end_of_partition(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::PartitionEOF(_)
            | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
    )
}
