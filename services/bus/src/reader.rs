//! Reading whole topics outside any consumer group — what the alerter, the query service and the
//! processor's restore do at start-up — and the one definition of "caught up" they share: every
//! partition read to the end it had when reading began.
//!
//! Readers see committed records only. A transaction's commit marker takes an offset but is never
//! delivered, so the last offset of a partition written transactionally never arrives: the end is
//! known by librdkafka's end-of-partition signal (`enable.partition.eof`), which comes after every
//! record before it.

use crate::error::BusError;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Partitions of `topic`; an error when it has none (it does not exist). A topic created a moment
/// ago may not be in the broker's metadata yet: asked again for up to 10 s.
pub fn partitions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
) -> Result<i32, BusError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
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
        std::thread::sleep(Duration::from_millis(200));
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
    let consumer = reader(brokers, name)?;
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(topic, *partition, Offset::Beginning)?;
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

/// Which assigned partitions are not read to their end yet (the high watermarks taken when it was
/// made). A partition that cannot be asked (the broker is down) is asked again until `cancel`:
/// never caught up on a partially read state.
pub struct EndTracker {
    remaining: HashMap<(String, i32), i64>,
    /// Topics per partition number: an end-of-partition signal names only the partition.
    topics: usize,
}

impl EndTracker {
    pub fn new<C: ConsumerContext>(
        consumer: &BaseConsumer<C>,
        cancel: &CancellationToken,
    ) -> Result<Self, BusError> {
        let assignment = consumer.assignment()?;
        let mut remaining = HashMap::new();
        let mut topics = std::collections::HashSet::new();
        for element in assignment.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            topics.insert(topic.to_string());
            loop {
                match consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)) {
                    Ok((low, high)) => {
                        // an empty partition (or one emptied by retention) has nothing to read
                        if high > low {
                            remaining.insert((topic.to_string(), partition), high);
                        }
                        break;
                    }
                    Err(error) if !cancel.is_cancelled() => {
                        tracing::warn!(%error, topic, partition, "asking for the end of a partition, retrying");
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(EndTracker {
            remaining,
            topics: topics.len(),
        })
    }

    /// Hears of one poll result.
    pub fn observe<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        result: &Result<BorrowedMessage<'_>, KafkaError>,
    ) {
        if self.remaining.is_empty() {
            return;
        }
        match result {
            Ok(message) => {
                let key = (message.topic().to_string(), message.partition());
                if self
                    .remaining
                    .get(&key)
                    .is_some_and(|end| message.offset() + 1 >= *end)
                {
                    self.remaining.remove(&key);
                }
            }
            Err(KafkaError::PartitionEOF(partition)) => {
                let positions = consumer.position().ok();
                let position_of = |topic: &str| {
                    positions.as_ref().and_then(|list| {
                        list.find_partition(topic, *partition)
                            .and_then(|element| element.offset().to_raw())
                    })
                };
                self.remaining.retain(|(topic, p), end| {
                    if p != partition {
                        return true;
                    }
                    if self.topics == 1 {
                        return false;
                    }
                    // several topics share partition numbers: only a partition whose unread
                    // rest can be a commit marker alone is at its end
                    position_of(topic).is_none_or(|position| position < *end - 1)
                });
            }
            Err(_) => {}
        }
    }

    /// Whether every partition is read to its end.
    pub fn done(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// Reads every assigned partition up to its end as of now, then returns. A broker that stalls
/// makes this wait, not stop early.
pub fn drain_to_end<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    cancel: &CancellationToken,
    mut each: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), BusError> {
    let mut ends = EndTracker::new(consumer, cancel)?;
    while !cancel.is_cancelled() && !ends.done() {
        let Some(result) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        ends.observe(consumer, &result);
        match result {
            Ok(message) => each(&message),
            Err(error) if is_end_of_partition(&error) => {}
            Err(error) => tracing::warn!(%error, "reading to the end"),
        }
    }
    Ok(())
}
