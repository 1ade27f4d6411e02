//! The one way kouan reads a topic it does not consume as a group member: restore or replay
//! until caught up, then follow, with the lag exposed. The alerter, the query service, the
//! processor's restore, the benchmarks and the tests all read through it, so "caught up" has one
//! definition: every assigned partition read to the end it had when the follower was made.
//!
//! A transaction's commit marker takes an offset but is never delivered, so the last offset of a
//! partition written transactionally never arrives: the end is known by librdkafka's
//! end-of-partition signal, which comes after every record before it.

use crate::error::BusError;
use crate::reader::{self, is_end_of_partition, Reader};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::Message;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub use crate::timing::POLL;
use crate::timing::WATERMARKS;

/// A reader with its notion of caught up.
pub struct Follower {
    reader: Reader,
    ends: EndTracker,
    /// Partitions whose end-of-partition signal came after their last record read: read to
    /// their end, until [`Follower::take_ended`].
    ended: BTreeSet<i32>,
}

impl Follower {
    /// Follows what `reader` is assigned; the ends to catch up to are taken now. A broker that
    /// cannot be asked is asked again until `cancel`.
    pub fn new(reader: Reader, cancel: &CancellationToken) -> Result<Self, BusError> {
        let ends = EndTracker::new(&reader, cancel)?;
        Ok(Follower {
            reader,
            ends,
            ended: BTreeSet::new(),
        })
    }

    /// Every partition of `topics` from the beginning; `name` only tags the client.
    pub fn from_beginning(
        brokers: &str,
        name: &str,
        topics: &[String],
        cancel: &CancellationToken,
    ) -> Result<Self, BusError> {
        Self::new(reader::from_beginning(brokers, name, topics)?, cancel)
    }

    /// Some partitions of `topic` from the beginning.
    pub fn partitions_from_beginning(
        brokers: &str,
        name: &str,
        topic: &str,
        partitions: &[i32],
        cancel: &CancellationToken,
    ) -> Result<Self, BusError> {
        let reader = reader::partitions_from_beginning(brokers, name, topic, partitions)?;
        Self::new(reader, cancel)
    }

    /// Some partitions of `topic`, each from the offset given with it (a checkpoint's).
    pub fn partitions_at(
        brokers: &str,
        name: &str,
        topic: &str,
        starts: &[(i32, rdkafka::Offset)],
        cancel: &CancellationToken,
    ) -> Result<Self, BusError> {
        Self::new(reader::partitions_at(brokers, name, topic, starts)?, cancel)
    }

    /// The next record, if one comes within `timeout`. Errors are logged, not returned:
    /// librdkafka reconnects by itself, and a broker away for a while is not the end of a reader.
    pub fn poll(&mut self, timeout: Duration) -> Option<BorrowedMessage<'_>> {
        match self.try_poll(timeout) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "reading");
                None
            }
        }
    }

    /// [`poll`](Self::poll) with the client's errors returned, for callers that must not go on
    /// past one (tests). End-of-partition signals are not errors, and not the end of the wait
    /// either: one partition at its end says nothing of the others, and a caller that took the
    /// signal for "nothing to read" cut its cycle short at every one (the alerter committed a
    /// transaction per signal and read 3,000 records/s while tens of thousands waited). The
    /// signal is kept for [`take_ended`](Self::take_ended).
    pub fn try_poll(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<BorrowedMessage<'_>>, KafkaError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(result) = self.reader.poll(left) else {
                return Ok(None);
            };
            self.ends.observe(&self.reader, &result);
            match result {
                Ok(message) => {
                    self.ended.remove(&message.partition());
                    return Ok(Some(message));
                }
                Err(KafkaError::PartitionEOF(partition)) => {
                    self.ended.insert(partition);
                }
                Err(error) if is_end_of_partition(&error) => {}
                Err(error) => return Err(error),
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    /// The partitions read to their end since the last call (nothing read from them after the
    /// signal). Partition numbers only: meant for a follower of one topic.
    pub fn take_ended(&mut self) -> BTreeSet<i32> {
        std::mem::take(&mut self.ended)
    }

    /// Whether every partition has been read to the end it had when the follower was made.
    pub fn caught_up(&self) -> bool {
        self.ends.done()
    }

    /// Reads until caught up (or cancelled), handing each record to `each`. A broker that stalls
    /// makes this wait, not stop early.
    pub fn catch_up(
        &mut self,
        cancel: &CancellationToken,
        mut each: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<(), BusError> {
        while !cancel.is_cancelled() && !self.caught_up() {
            if let Some(message) = self.poll(POLL) {
                each(&message);
            }
        }
        Ok(())
    }

    /// Records not read yet per topic, over its assigned partitions, by the high watermarks now.
    /// Partitions the broker does not answer for are left out.
    pub fn lag(&self) -> BTreeMap<String, i64> {
        lag(&self.reader)
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }
}

/// Records a consumer has not read yet per topic, over its assigned partitions, by the high
/// watermarks now (a group member's as well as a follower's). Partitions the broker does not
/// answer for are left out.
pub fn lag<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> BTreeMap<String, i64> {
    let mut lag = BTreeMap::new();
    let Ok(positions) = consumer.position() else {
        return lag;
    };
    for element in positions.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let Ok((low, high)) = consumer.fetch_watermarks(topic, partition, WATERMARKS) else {
            continue;
        };
        // not positioned yet: everything retention left is still to read
        let next = element.offset().to_raw().filter(|offset| *offset >= 0);
        *lag.entry(topic.to_string()).or_default() += (high - next.unwrap_or(low).max(low)).max(0);
    }
    lag
}

/// Which assigned partitions are not read to their end yet (the high watermarks taken when it was
/// made). A partition that cannot be asked (the broker is down) is asked again until `cancel`:
/// never caught up on a partially read state.
struct EndTracker {
    remaining: HashMap<(String, i32), i64>,
    /// Topics per partition number: an end-of-partition signal names only the partition.
    topics: usize,
}

impl EndTracker {
    fn new<C: ConsumerContext>(
        consumer: &BaseConsumer<C>,
        cancel: &CancellationToken,
    ) -> Result<Self, BusError> {
        let assignment = consumer.assignment()?;
        let mut remaining = HashMap::new();
        let mut topics = std::collections::HashSet::new();
        let mut asked: Vec<(String, i32)> = assignment
            .elements()
            .iter()
            .map(|element| (element.topic().to_string(), element.partition()))
            .collect();
        topics.extend(asked.iter().map(|(topic, _)| topic.clone()));
        // all at once; those the broker did not answer, again until it does
        while !asked.is_empty() {
            let answers = crate::watermarks::fetch_all(consumer, &asked, WATERMARKS);
            let mut unanswered = Vec::new();
            for ((topic, partition), answer) in asked.into_iter().zip(answers) {
                match answer {
                    Ok((low, high)) => {
                        // an empty partition (or one emptied by retention) has nothing to read
                        if high > low {
                            remaining.insert((topic, partition), high);
                        }
                    }
                    Err(error) if !cancel.is_cancelled() => {
                        tracing::warn!(%error, topic, partition, "asking for the end of a partition, retrying");
                        unanswered.push((topic, partition));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            asked = unanswered;
        }
        Ok(EndTracker {
            remaining,
            topics: topics.len(),
        })
    }

    /// Hears of one poll result.
    fn observe<C: ConsumerContext>(
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
    fn done(&self) -> bool {
        self.remaining.is_empty()
    }
}
