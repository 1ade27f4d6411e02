//! What a tenure has read, held until its event time is in step across the input partitions
//! ([`crate::pacing`]), released a cycle's worth at a time, and the partitions paused while they
//! buffer too much and resumed once drained.

use super::*;

impl Tenure<'_> {
    /// Buffers what was read, each record at the event time it reports (a record that reports
    /// none goes with its partition's neighbours). A by-shipment record of a partition revoked
    /// while the batch was read is dropped: its new owner reads it again.
    pub(super) fn hold(&mut self, batch: Vec<OwnedMessage>, shared: Vec<OwnedMessage>, wall: i64) {
        for message in batch {
            let partition = message.partition();
            if !self.owned.contains(&partition) {
                continue;
            }
            let event = message.payload().map(|bytes| self.engine.decode(bytes));
            let reported = restore::event_reported(&message, &event);
            self.in_step.push(
                (Input::ByShipment, partition),
                reported,
                Held { message, event },
                wall,
            );
        }
        for message in shared {
            let event = restore::decode_shared_event(&mut self.engine, &message);
            let reported = restore::event_reported(&message, &event);
            self.in_step.push(
                (Input::Shared, message.partition()),
                reported,
                Held { message, event },
                wall,
            );
        }
    }

    /// The records that may be applied now, in event-time order, at most a cycle's worth.
    pub(super) fn ready(&mut self, wall: i64) -> Vec<(Input, Held)> {
        let mut released = Vec::new();
        while released.len() < CYCLE_RECORDS {
            let Some(((input, partition), message)) = self.in_step.next(wall) else {
                break;
            };
            if input == Input::ByShipment && !self.owned.contains(&partition) {
                continue;
            }
            released.push((input, message));
        }
        released
    }

    /// Pauses the partitions that buffered too much and resumes the drained ones.
    pub(super) fn bound_buffers(&mut self, wall: i64) {
        let plan = self.in_step.plan(wall);
        let by_shipment = self.config.topics.by_shipment();
        let shared = self.config.topics.shared();
        let lists = |partitions: &[(Input, i32)]| {
            let mut owned = TopicPartitionList::new();
            let mut table = TopicPartitionList::new();
            for (input, partition) in partitions {
                match input {
                    Input::ByShipment => owned.add_partition(&by_shipment, *partition),
                    Input::Shared => table.add_partition(&shared, *partition),
                };
            }
            (owned, table)
        };
        for (partitions, pause) in [(&plan.pause, true), (&plan.resume, false)] {
            let (owned, table) = lists(partitions);
            for (result, input) in [
                (pause_or_resume(&self.group, &owned, pause), "by-shipment"),
                (
                    pause_or_resume(self.shared.reader(), &table, pause),
                    "shared",
                ),
            ] {
                if let Err(error) = result {
                    tracing::warn!(%error, input, pause, "pausing or resuming partitions");
                }
            }
        }
    }
}

/// Pauses (or resumes) `partitions`, if there are any.
fn pause_or_resume<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    partitions: &TopicPartitionList,
    pause: bool,
) -> rdkafka::error::KafkaResult<()> {
    match (partitions.count(), pause) {
        (0, _) => Ok(()),
        (_, true) => consumer.pause(partitions),
        (_, false) => consumer.resume(partitions),
    }
}
