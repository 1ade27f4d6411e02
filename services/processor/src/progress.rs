//! The event-time watermark a processor stamps on its status records: how far *every* input it
//! reads has got, not how far the fastest one has.
//!
//! The engine's own watermark is the latest actual event time it has seen, from any partition.
//! That is the right clock for retention, but not for the readers of `kouan.status`: while a
//! processor catches up, its consumer fetches partitions unevenly (one partition's megabyte may be
//! days of event time ahead of another's), so the engine's watermark runs ahead of shipments whose
//! records have not been read yet, and an alerter judging them against it sees dwells that have in
//! fact ended (false alerts). So each input partition keeps the latest event time read from it,
//! and the stamp is the slowest of those still being read — a partition read to its end holds
//! nothing back, since nothing more is known to come (the processor tells which are, from the
//! end-of-partition signal and, as it stamps, the last fetch's high watermark).
//!
//! Nor may the stamp pass the *front* of either input — the latest event time read from any of
//! its partitions — while that input still delivers. The router writes both inputs in one
//! transaction, but the by-shipment partitions and the shared table are read by two consumers
//! that fetch independently: the shared reader may hold a router transaction whose by-shipment
//! half the group consumer has not fetched yet, and a by-shipment partition whose last fetch was
//! before that transaction looks read to its end. Replaying history, one transaction spans days of
//! event time, so without this a train's arrival (shared) was judged days past its shipment's
//! customs release (by-shipment, not read yet): false missing-release alerts.
//!
//! Partitions never read from (a shared partition after the start-up restore, a partition just
//! assigned) hold nothing back either until a record arrives: the restore has read them whole.
//! Nor does one that delivered nothing for [`IDLE_MILLIS`] of polling: a partition still behind
//! delivers at every poll or two, so one that does not is at its end even when the signal was
//! missed or withdrawn (a live partition whose last event is old must not hold the clock back).
//! The clock of this rule is the time the processor spent polling, not the wall clock: a cycle
//! that takes seconds (a big batch, a starved CPU) must not make every partition look idle.

use std::collections::HashMap;

/// Time spent polling without a record after which a partition holds the stamp back no more.
pub const IDLE_MILLIS: i64 = 2_000;

/// Which input a partition belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Input {
    /// `kouan.internal.by-shipment`, the partitions the group assigned.
    ByShipment,
    /// `kouan.internal.shared`, every partition.
    Shared,
}

#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    /// The latest event time a record of the partition reported (see
    /// [`crate::engine::reported_millis`]); `None` until one did.
    reached: Option<i64>,
    /// Read to the end of what the partition holds.
    at_end: bool,
    /// The idle clock (time spent polling) when the last record was read.
    last_read: i64,
}

#[derive(Debug, Default)]
pub struct Progress {
    partitions: HashMap<(Input, i32), Mark>,
    /// The idle clock of the cycle (see [`Progress::at`]).
    now: i64,
}

impl Progress {
    pub fn new() -> Self {
        Progress::default()
    }

    /// The idle clock (milliseconds spent polling) of the reads and the stamp that follow.
    pub fn at(&mut self, polled: i64) {
        self.now = polled;
    }

    /// A record of `partition` was read; `reported` is the event time it tells (if any).
    pub fn read(&mut self, input: Input, partition: i32, reported: Option<i64>) {
        let mark = self.partitions.entry((input, partition)).or_default();
        mark.at_end = false;
        mark.last_read = self.now;
        if let Some(reported) = reported {
            mark.reached = Some(mark.reached.map_or(reported, |at| at.max(reported)));
        }
    }

    /// The consumer signalled the end of `partition`.
    pub fn reached_end(&mut self, input: Input, partition: i32) {
        if let Some(mark) = self.partitions.get_mut(&(input, partition)) {
            mark.at_end = true;
        }
    }

    /// The partitions read from, and whether each is taken to be read to its end.
    pub fn partitions(&self) -> Vec<((Input, i32), bool)> {
        let mut partitions: Vec<((Input, i32), bool)> = self
            .partitions
            .iter()
            .map(|(key, mark)| (*key, mark.at_end))
            .collect();
        partitions.sort_by_key(|((input, partition), _)| (*input as u8, *partition));
        partitions
    }

    /// `partition`, once read to its end, has more records now (fetched, not read yet).
    pub fn more_to_come(&mut self, input: Input, partition: i32) {
        if let Some(mark) = self.partitions.get_mut(&(input, partition)) {
            mark.at_end = false;
        }
    }

    /// `partition` is not read here any more (revoked).
    pub fn release(&mut self, input: Input, partition: i32) {
        self.partitions.remove(&(input, partition));
    }

    /// The watermark to stamp, given the engine's: held back to the slowest partition still being
    /// read.
    pub fn stamp(&self, engine_watermark: i64) -> i64 {
        let delivering = |mark: &Mark| self.now - mark.last_read < IDLE_MILLIS;
        let slowest = self
            .partitions
            .values()
            .filter(|mark| !mark.at_end && delivering(mark))
            .filter_map(|mark| mark.reached);
        let fronts = [Input::ByShipment, Input::Shared]
            .into_iter()
            .filter_map(|input| {
                let marks = || {
                    self.partitions
                        .iter()
                        .filter(move |((of, _), _)| *of == input)
                        .map(|(_, mark)| mark)
                };
                if !marks().any(delivering) {
                    return None;
                }
                marks().filter_map(|mark| mark.reached).max()
            });
        slowest.chain(fronts).fold(engine_watermark, i64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_partition_still_being_read_holds_the_stamp() {
        let mut progress = Progress::new();
        assert_eq!(progress.stamp(500), 500);
        progress.read(Input::ByShipment, 0, Some(100));
        progress.read(Input::ByShipment, 1, Some(300));
        progress.read(Input::Shared, 0, Some(200));
        assert_eq!(progress.stamp(300), 100);
        // an older event does not move a partition back
        progress.read(Input::ByShipment, 0, Some(50));
        assert_eq!(progress.stamp(300), 100);
        // read to its end, a partition holds nothing back
        progress.reached_end(Input::ByShipment, 0);
        assert_eq!(progress.stamp(300), 200);
        progress.reached_end(Input::Shared, 0);
        progress.reached_end(Input::ByShipment, 1);
        assert_eq!(progress.stamp(300), 200, "the front of the shared input");
        assert_eq!(
            progress.partitions(),
            vec![
                ((Input::ByShipment, 0), true),
                ((Input::ByShipment, 1), true),
                ((Input::Shared, 0), true)
            ]
        );
        // records arrived after the end was signalled: it holds the stamp back again
        progress.more_to_come(Input::ByShipment, 0);
        assert_eq!(progress.stamp(300), 100);
        progress.reached_end(Input::ByShipment, 0);
        // a new record makes it a partition being read again
        progress.read(Input::Shared, 0, None);
        assert_eq!(progress.stamp(300), 200);
    }

    #[test]
    fn a_partition_that_delivers_nothing_for_a_while_holds_nothing_back() {
        let mut progress = Progress::new();
        progress.at(1_000);
        progress.read(Input::Shared, 0, Some(100));
        progress.read(Input::Shared, 1, Some(300));
        assert_eq!(progress.stamp(300), 100);
        progress.at(1_000 + IDLE_MILLIS);
        progress.read(Input::Shared, 1, Some(350));
        assert_eq!(progress.stamp(400), 350);
    }

    #[test]
    fn never_past_the_front_of_an_input_still_delivering() {
        let mut progress = Progress::new();
        progress.at(1_000);
        // the by-shipment partitions look read to their end as of their last fetch, while the
        // shared reader already holds a later router transaction
        progress.read(Input::ByShipment, 0, Some(100));
        progress.read(Input::ByShipment, 1, Some(120));
        progress.reached_end(Input::ByShipment, 0);
        progress.reached_end(Input::ByShipment, 1);
        progress.read(Input::Shared, 0, Some(500));
        progress.reached_end(Input::Shared, 0);
        assert_eq!(progress.stamp(500), 120);
        // an input that has delivered nothing for a while holds nothing back
        progress.at(1_000 + IDLE_MILLIS);
        progress.read(Input::Shared, 0, Some(600));
        progress.reached_end(Input::Shared, 0);
        assert_eq!(progress.stamp(600), 600);
    }

    #[test]
    fn never_past_the_engine_and_released_partitions_are_forgotten() {
        let mut progress = Progress::new();
        progress.read(Input::ByShipment, 3, Some(900));
        assert_eq!(progress.stamp(400), 400);
        progress.read(Input::ByShipment, 2, Some(100));
        assert_eq!(progress.stamp(400), 100);
        progress.release(Input::ByShipment, 2);
        assert_eq!(progress.stamp(400), 400);
        // a partition that told no event time yet holds nothing back
        progress.read(Input::Shared, 1, None);
        assert_eq!(progress.stamp(400), 400);
        // the end of a partition never read is nothing to remember
        progress.reached_end(Input::Shared, 7);
        assert_eq!(progress.stamp(400), 400);
    }
}
