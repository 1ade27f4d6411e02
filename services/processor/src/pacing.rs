//! Reading partitions in step, in event time: the router buffers what it polls per event-topic
//! partition and routes the records in event-time order across partitions, each partition's own
//! order kept; the shipment stage does the same with its by-shipment and shared partitions
//! (`crate::tenure`).
//!
//! Why: the five event topics are fetched at their own paces, a megabyte per partition at a time.
//! Replaying history (a start on old topics, a catch-up after an outage), one topic can be routed
//! weeks of event time ahead of another — two months of customs events before the first booking —
//! and everything downstream then sees shipments' events out of time: the processor's watermark
//! runs ahead of events not routed yet and alerts fire on dwells that have in fact ended. Kafka
//! Streams solves the same problem the same way: each task picks the record with the lowest
//! timestamp among its partitions' buffers, and waits up to `max.task.idle.ms` for a partition
//! whose buffer is empty before going on without it.
//!
//! A record's time is the event time it reports ([`crate::engine::reported_millis`]), or for one
//! that reports none (a plan, an invalid record) the latest its partition reported, so it goes
//! with its neighbours. A partition with nothing buffered holds the others back while it may
//! still deliver something earlier than their next record: it is not known to be read to its end
//! (the router compares its position with the high watermark of the last fetch), and what it
//! reached is more than [`SLACK_MILLIS`] before that next record. A partition whose end cannot be
//! seen (a transactional producer's markers after the last record, a fetch that keeps failing)
//! holds nothing back once it has delivered nothing for [`IDLE_MILLIS`]. Live, every partition
//! is within the slack of the others, so nothing waits. A partition whose buffer grows past [`PAUSE_AT`] records is
//! paused until it drains below [`RESUME_AT`] (librdkafka fetches it again from the next record
//! after those polled), bounding the memory while one topic runs ahead.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// How far one partition's next record may be ahead of what another, still delivering, has
/// reached, in event time.
pub const SLACK_MILLIS: i64 = 3_600_000;

/// How long a partition with nothing buffered, not known to be at its end, may deliver nothing
/// before it holds nothing back.
pub const IDLE_MILLIS: i64 = 10_000;

/// Buffered records of one partition at which it is paused, and below which it is resumed.
pub const PAUSE_AT: usize = 50_000;
pub const RESUME_AT: usize = 10_000;

#[derive(Debug)]
struct Lane<R> {
    /// Polled, not routed yet: (time, record), in the partition's order.
    queue: VecDeque<(i64, R)>,
    /// The latest event time a record of the partition reported.
    reached: Option<i64>,
    /// Wall-clock time of the last record polled, of the assignment, or of the resume.
    last_read: i64,
    paused: bool,
    /// Read to its end: nothing more to come for now.
    at_end: bool,
}

impl<R> Lane<R> {
    fn new(wall: i64) -> Self {
        Lane {
            queue: VecDeque::new(),
            reached: None,
            last_read: wall,
            paused: false,
            at_end: false,
        }
    }
}

/// The router's input partitions, merged in event time.
#[derive(Debug)]
pub struct InStep<K, R> {
    lanes: HashMap<K, Lane<R>>,
}

/// What the consumer must do to keep the buffers bounded.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan<K> {
    pub pause: Vec<K>,
    pub resume: Vec<K>,
}

impl<K: Clone + Eq + Hash + Ord, R> Default for InStep<K, R> {
    fn default() -> Self {
        InStep {
            lanes: HashMap::new(),
        }
    }
}

impl<K: Clone + Eq + Hash + Ord, R> InStep<K, R> {
    pub fn new() -> Self {
        InStep::default()
    }

    /// `partition` was assigned at `wall`: until it delivers or falls idle, nothing later than
    /// the slack goes ahead of it.
    pub fn assigned(&mut self, partition: K, wall: i64) {
        self.lanes.insert(partition, Lane::new(wall));
    }

    /// `partition` was revoked: what it buffered is dropped (its new owner reads it again from
    /// the committed offset).
    pub fn revoked(&mut self, partition: &K) {
        self.lanes.remove(partition);
    }

    /// A record of `partition`, polled at `wall`, reporting event time `reported` (if any).
    pub fn push(&mut self, partition: K, reported: Option<i64>, record: R, wall: i64) {
        let lane = self
            .lanes
            .entry(partition)
            .or_insert_with(|| Lane::new(wall));
        lane.last_read = wall;
        lane.at_end = false;
        if let Some(reported) = reported {
            lane.reached = Some(lane.reached.map_or(reported, |at| at.max(reported)));
        }
        let time = reported.or(lane.reached).unwrap_or(i64::MIN);
        lane.queue.push_back((time, record));
    }

    /// The next record to route at `wall`, or `None` when nothing is buffered or the earliest
    /// buffered record must wait for a partition that may still deliver an earlier one.
    pub fn next(&mut self, wall: i64) -> Option<(K, R)> {
        let (partition, time) = self
            .lanes
            .iter()
            .filter_map(|(partition, lane)| lane.queue.front().map(|(time, _)| (partition, *time)))
            .min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)))?;
        let waiting = self.lanes.values().any(|lane| {
            lane.queue.is_empty()
                && !lane.paused
                && !lane.at_end
                && wall - lane.last_read < IDLE_MILLIS
                && lane
                    .reached
                    .is_none_or(|reached| reached.saturating_add(SLACK_MILLIS) < time)
        });
        if waiting {
            return None;
        }
        let partition = partition.clone();
        let lane = self.lanes.get_mut(&partition)?;
        let (_, record) = lane.queue.pop_front()?;
        Some((partition, record))
    }

    /// Which partitions to pause (too much buffered) and to resume (drained), at `wall`.
    pub fn plan(&mut self, wall: i64) -> Plan<K> {
        let mut plan = Plan {
            pause: Vec::new(),
            resume: Vec::new(),
        };
        for (partition, lane) in &mut self.lanes {
            if !lane.paused && lane.queue.len() >= PAUSE_AT {
                lane.paused = true;
                plan.pause.push(partition.clone());
            } else if lane.paused && lane.queue.len() < RESUME_AT {
                lane.paused = false;
                lane.last_read = wall;
                plan.resume.push(partition.clone());
            }
        }
        plan.pause.sort();
        plan.resume.sort();
        plan
    }

    /// The partitions with nothing buffered that are not known to be at their end: the ones to
    /// ask about.
    pub fn empty_lanes(&self) -> Vec<K> {
        self.lanes
            .iter()
            .filter(|(_, lane)| lane.queue.is_empty() && !lane.at_end)
            .map(|(partition, _)| partition.clone())
            .collect()
    }

    /// `partition` was read to its end: until it delivers again it holds nothing back.
    pub fn reached_end(&mut self, partition: &K) {
        if let Some(lane) = self.lanes.get_mut(partition) {
            lane.at_end = lane.queue.is_empty();
        }
    }

    /// The first record `partition` holds back, if any.
    pub fn front(&self, partition: &K) -> Option<&R> {
        self.lanes
            .get(partition)
            .and_then(|lane| lane.queue.front())
            .map(|(_, record)| record)
    }

    /// Records buffered, not routed yet.
    pub fn buffered(&self) -> usize {
        self.lanes.values().map(|lane| lane.queue.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    fn drain(merge: &mut InStep<&'static str, u32>, wall: i64) -> Vec<u32> {
        std::iter::from_fn(|| merge.next(wall).map(|(_, record)| record)).collect()
    }

    #[test]
    fn partitions_are_merged_in_event_time_each_in_its_own_order() {
        let mut merge = InStep::new();
        // customs fetched first, a month ahead; bookings after
        merge.push("customs", Some(30 * DAY), 1, 0);
        merge.push("customs", Some(31 * DAY), 2, 0);
        merge.push("booking", Some(DAY), 3, 0);
        merge.push("booking", None, 4, 0); // a plan: goes with its neighbours
        merge.push("booking", Some(29 * DAY), 5, 0);
        // a late record is not moved before its partition's earlier ones
        merge.push("booking", Some(2 * DAY), 6, 0);
        merge.push("booking", Some(40 * DAY), 7, 0);
        // both lanes still delivering: the one that empties first holds the other back
        assert_eq!(drain(&mut merge, 10), vec![3, 4, 5, 6, 1, 2]);
        // customs, empty and still delivering, reached 31 days: booking's 40 days wait for it
        // until it has delivered nothing for IDLE_MILLIS
        assert_eq!(merge.buffered(), 1);
        assert_eq!(drain(&mut merge, IDLE_MILLIS), vec![7]);
        assert_eq!(merge.buffered(), 0);
    }

    #[test]
    fn an_empty_partition_still_delivering_holds_back_what_is_ahead_of_it() {
        let mut merge = InStep::new();
        merge.assigned("rail", 0);
        merge.push("air", Some(HOUR), 1, 0);
        // rail was just assigned and has said nothing yet: everything waits for it
        assert_eq!(drain(&mut merge, 100), Vec::<u32>::new());
        merge.push("rail", Some(HOUR), 2, 200);
        merge.push("air", Some(10 * HOUR), 3, 200);
        // rail reached 1 h: the air record of 10 h waits for it
        assert_eq!(drain(&mut merge, 300), vec![1, 2]);
        merge.push("rail", Some(9 * HOUR + 30 * 60_000), 4, 400);
        // within the slack of rail's 9.5 h: goes
        assert_eq!(drain(&mut merge, 500), vec![4, 3]);
        merge.push("air", Some(20 * HOUR), 5, 600);
        assert_eq!(drain(&mut merge, 700), Vec::<u32>::new());
        // rail delivers nothing for IDLE_MILLIS: at its end, it holds nothing back
        assert_eq!(drain(&mut merge, 400 + IDLE_MILLIS), vec![5]);
    }

    #[test]
    fn a_partition_read_to_its_end_holds_nothing_back_until_it_delivers_again() {
        let mut merge = InStep::new();
        merge.assigned("rail", 0);
        merge.push("air", Some(10 * HOUR), 1, 0);
        assert_eq!(merge.empty_lanes(), vec!["rail"]);
        assert_eq!(drain(&mut merge, 10), Vec::<u32>::new());
        // rail is empty and at its end: air goes at once
        merge.reached_end(&"rail");
        assert!(merge.empty_lanes().is_empty());
        assert_eq!(drain(&mut merge, 20), vec![1]);
        // rail delivers again: not at its end any more, and once empty it is asked about again
        merge.push("rail", Some(HOUR), 2, 30);
        merge.push("air", Some(20 * HOUR), 3, 30);
        assert_eq!(drain(&mut merge, 40), vec![2]);
        assert_eq!(merge.empty_lanes(), vec!["rail"]);
        // a partition with records buffered is not at its end whatever is said
        merge.push("rail", Some(2 * HOUR), 4, 50);
        merge.reached_end(&"rail");
        assert_eq!(drain(&mut merge, 60), vec![4]);
        assert_eq!(drain(&mut merge, 60), Vec::<u32>::new());
        merge.reached_end(&"rail");
        assert_eq!(drain(&mut merge, 70), vec![3]);
    }

    #[test]
    fn a_partition_far_ahead_is_paused_until_drained_and_revoked_ones_are_dropped() {
        let mut merge = InStep::new();
        merge.assigned("booking", 0);
        for index in 0..PAUSE_AT as u32 {
            merge.push("customs", Some(30 * DAY), index, 0);
        }
        let plan = merge.plan(0);
        assert_eq!(plan.pause, vec!["customs"]);
        // a paused partition holds nothing back; booking still does until idle
        assert!(merge.next(10).is_none());
        merge.revoked(&"booking");
        assert!(merge.next(20).is_some());
        for _ in 0..(PAUSE_AT - RESUME_AT) {
            merge.next(20).unwrap();
        }
        assert_eq!(
            merge.plan(30),
            Plan {
                pause: vec![],
                resume: vec!["customs"]
            }
        );
        merge.revoked(&"customs");
        assert_eq!(merge.buffered(), 0);
    }
}
