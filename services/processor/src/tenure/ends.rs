//! Knowing when an input partition has been read to its end: what a cycle's reads reached, the
//! positions confirmed against the partitions' watermarks, and the offsets committed.

use super::*;

/// The partitions a cycle's reads reached the end of, per input.
pub(super) struct Ends {
    pub(super) by_shipment: BTreeSet<i32>,
    pub(super) shared: BTreeSet<i32>,
}

/// Where each consumer is ([`Tenure::positions_read`]).
pub(super) struct PositionsRead {
    pub(super) by_shipment: Option<TopicPartitionList>,
    pub(super) shared: Option<TopicPartitionList>,
}

/// [`Tenure::fetched_to_end`] for one consumer, at `positions`.
pub(super) fn fetched_to_end<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    positions: &TopicPartitionList,
    topic: &str,
    partition: i32,
) -> Option<bool> {
    let position = match positions.find_partition(topic, partition)?.offset() {
        rdkafka::Offset::Offset(offset) => Some(offset),
        _ => None,
    };
    let (low, high) = kouan_bus::batch::known_watermarks(consumer, topic, partition)?;
    Some(kouan_bus::batch::read_to_end(position, low, high, true))
}

impl Tenure<'_> {
    /// Tells the merge which of its empty partitions have nothing more to come for now: those
    /// the consumer signalled the end of, and those whose position is at the high watermark of
    /// their last fetch ([`Tenure::fetched_to_end`]).
    pub(super) fn note_lane_ends(&mut self, ends: &Ends) {
        for partition in &ends.by_shipment {
            self.in_step.reached_end(&(Input::ByShipment, *partition));
        }
        for partition in &ends.shared {
            self.in_step.reached_end(&(Input::Shared, *partition));
        }
        let empty = self.in_step.empty_lanes();
        if empty.is_empty() {
            return;
        }
        let positions = self.positions_read();
        for (input, partition) in empty {
            if self.fetched_to_end(&positions, input, partition) == Some(true) {
                self.in_step.reached_end(&(input, partition));
            }
        }
    }

    /// The end signals, for the stamp: a partition with records still held back is not at its
    /// end, whatever the consumer has fetched.
    pub(super) fn note_ends(&mut self, ends: Ends) {
        for partition in ends.by_shipment {
            if self
                .in_step
                .front(&(Input::ByShipment, partition))
                .is_none()
            {
                self.progress.reached_end(Input::ByShipment, partition);
            }
        }
        for partition in ends.shared {
            if self.in_step.front(&(Input::Shared, partition)).is_none() {
                self.progress.reached_end(Input::Shared, partition);
            }
        }
    }

    /// Whether each partition read from is at its end, as the statuses are about to be stamped:
    /// its position against the high watermark of its last fetch (both local to the client). A
    /// gap of one is the commit marker after the last record; more is records on the way or a
    /// transaction open — the router commits by-shipment and shared records together, and the
    /// shared reader's fetch of them may land after the group's, so an end signalled a moment ago
    /// may be stale. A partition with nothing unread holds nothing back whatever its last event
    /// time (live, a quiet partition's is old). Where either is unknown, the end-of-partition
    /// signal stands.
    pub(super) fn confirm_ends(&mut self) {
        let partitions = self.progress.partitions();
        if partitions.is_empty() {
            return;
        }
        let positions = self.positions_read();
        for ((input, partition), _) in partitions {
            if self.in_step.front(&(input, partition)).is_some() {
                self.progress.more_to_come(input, partition);
                continue;
            }
            match self.fetched_to_end(&positions, input, partition) {
                Some(false) => self.progress.more_to_come(input, partition),
                Some(true) => self.progress.reached_end(input, partition),
                None => {}
            }
        }
    }

    /// Whether the consumer of `partition` has fetched all it holds: its position against the
    /// high watermark of its last fetch, both local to the client (`None` before its first
    /// fetch). A gap of one is the commit marker after the last record; more is records on the
    /// way or a transaction open. A partition whose position is still unknown (it has delivered
    /// nothing) is at its end when it holds nothing ([`kouan_bus::batch::read_to_end`], as the
    /// router judges), so that an empty partition does not hold the merge back for
    /// [`crate::pacing::IDLE_MILLIS`] after an assignment.
    pub(super) fn fetched_to_end(
        &self,
        positions: &PositionsRead,
        input: Input,
        partition: i32,
    ) -> Option<bool> {
        match input {
            Input::ByShipment => fetched_to_end(
                &self.group,
                positions.by_shipment.as_ref()?,
                &self.config.topics.by_shipment(),
                partition,
            ),
            Input::Shared => fetched_to_end(
                self.shared.reader(),
                positions.shared.as_ref()?,
                &self.config.topics.shared(),
                partition,
            ),
        }
    }

    /// Both consumers' positions, asked once for a pass over many partitions (each answer is a
    /// list of the whole assignment).
    pub(super) fn positions_read(&self) -> PositionsRead {
        PositionsRead {
            by_shipment: self.group.position().ok(),
            shared: self.shared.reader().position().ok(),
        }
    }

    /// The offsets the cycle's transaction commits: each owned partition's position, or the
    /// first of its records still held back (not applied yet, so read again after a crash).
    pub(super) fn positions(&self) -> Result<TopicPartitionList, ProcessError> {
        let mut offsets = kouan_bus::batch::positions(&self.group, &self.start)?;
        let topic = self.config.topics.by_shipment();
        for partition in &self.owned {
            if let Some(held) = self.in_step.front(&(Input::ByShipment, *partition)) {
                offsets.set_partition_offset(
                    &topic,
                    *partition,
                    rdkafka::Offset::Offset(held.message.offset()),
                )?;
            }
        }
        Ok(offsets)
    }
}
