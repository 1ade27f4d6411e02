//! The pipeline's "now": event time while the pipeline is behind, the wall clock once it is
//! caught up and quiet.
//!
//! The processor stamps its event-time watermark on every status record
//! ([`crate::headers::WATERMARK`]). A reader of `kouan.status` keeps, per partition, the latest
//! watermark and the wall-clock moment it saw it; the partition's clock is that watermark plus the
//! wall time since, never past the wall clock (and never backwards). So:
//!
//! - replaying history (catch-up, restart, a start on old topics), the clock follows the records:
//!   a dwell is measured against the time the pipeline has reached, not against today;
//! - live, the clock trails the wall clock by the pipeline's latency (seconds);
//! - between records it runs on with the wall clock from where the records left it (a stalled
//!   processor or a broker restart costs its seconds, not a jump to today);
//! - a partition read to its end that no record has moved for [`SETTLE_MILLIS`] keeps up with
//!   the furthest: the processor publishes only what changed, so a partition whose shipments
//!   had nothing new carries the stamp of its last change — hours behind, at the end of a
//!   catch-up — although the processor has read as far as the stamps the others carry;
//! - when the sources have been quiet for [`QUIET_MILLIS`] (no record of the partition moved it),
//!   the pipeline is as far as it will get: the clock is the wall clock, so a shipment that goes
//!   silent still ages and alerts.
//!
//! A partition that never carried a watermark (records written before it was stamped, or by hand)
//! runs on the wall clock. The clock is per partition because a reader fetches partitions
//! unevenly: one partition may be read days of event time ahead of another during a replay, and
//! a shipment is judged by the clock of the records it comes with.

use std::collections::BTreeMap;

/// How long without a record that moves a partition's watermark before its clock is the wall
/// clock: longer than a processor's restart or a broker's, far shorter than any rule's threshold.
pub const QUIET_MILLIS: i64 = 120_000;

/// How long a partition read to its end goes without a record that moves its watermark before
/// it keeps up with the furthest one. `kouan.status` is co-partitioned with the processor's
/// input, and one processor stamps every partition it owns from one watermark, so a partition it
/// left alone that long had nothing to change — and read to its end, no record of it is waiting
/// to be judged at an earlier time. Far longer than the moments between a transaction's commit
/// markers reaching its partitions; far shorter than [`QUIET_MILLIS`]. With several processors,
/// one owner far behind another is judged at the other's stamp once it has published nothing for
/// this long — the same trade the quiet rule makes with the wall clock, made sooner and only as
/// far as the pipeline has got.
pub const SETTLE_MILLIS: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Mark {
    /// The partition's clock when it last moved forward on a record.
    base: i64,
    /// The wall-clock moment of that.
    seen_at: i64,
    /// The reader has read the partition to its end (no record since the signal).
    at_end: bool,
}

impl Mark {
    fn now(&self, wall: i64) -> i64 {
        if wall - self.seen_at >= QUIET_MILLIS {
            return wall;
        }
        self.base.saturating_add(wall - self.seen_at).min(wall)
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventClock {
    partitions: BTreeMap<i32, Mark>,
}

impl EventClock {
    pub fn new() -> Self {
        EventClock::default()
    }

    /// A record of `partition` carried `watermark` and was read at `wall` (Unix milliseconds).
    pub fn observe(&mut self, partition: i32, watermark: i64, wall: i64) {
        // nothing has happened after now: a watermark ahead of the wall clock (a source dated
        // ahead, within the processor's tolerance) counts as now
        let watermark = watermark.min(wall);
        let current = self
            .partitions
            .get(&partition)
            .map(|mark| self.settled(mark, wall));
        if current.is_none_or(|current| watermark > current) {
            self.partitions.insert(
                partition,
                Mark {
                    base: watermark,
                    seen_at: wall,
                    at_end: false,
                },
            );
        } else if let (Some(current), Some(mark)) = (current, self.partitions.get_mut(&partition)) {
            // read again: it runs on from where it was, kept up with the furthest or not
            if current > mark.now(wall) {
                mark.base = current;
                mark.seen_at = wall;
            }
            mark.at_end = false;
        }
    }

    /// The reader has read `partition` to its end.
    pub fn reached_end(&mut self, partition: i32) {
        if let Some(mark) = self.partitions.get_mut(&partition) {
            mark.at_end = true;
        }
    }

    /// The clock of `partition` at `wall`.
    pub fn now_in(&self, partition: i32, wall: i64) -> i64 {
        self.partitions
            .get(&partition)
            .map_or(wall, |mark| self.settled(mark, wall))
    }

    /// A partition's clock with [`SETTLE_MILLIS`] applied: its own, or once it is read to its
    /// end and no record has moved it for that long, the furthest partition's if further.
    fn settled(&self, mark: &Mark, wall: i64) -> i64 {
        let own = mark.now(wall);
        if !mark.at_end || wall - mark.seen_at < SETTLE_MILLIS {
            return own;
        }
        self.partitions
            .values()
            .map(|other| other.now(wall))
            .fold(own, i64::max)
    }

    /// The pipeline's clock at `wall`: the slowest partition's (what every shipment has
    /// reached), or the wall clock when no record carried a watermark.
    pub fn now(&self, wall: i64) -> i64 {
        self.partitions
            .values()
            .map(|mark| self.settled(mark, wall))
            .min()
            .unwrap_or(wall)
    }

    /// How far the pipeline's clock is behind the wall clock, in milliseconds (0 when caught up).
    pub fn behind_millis(&self, wall: i64) -> i64 {
        (wall - self.now(wall)).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    const WALL: i64 = 1_780_000_000_000;

    #[test]
    fn without_watermarks_it_is_the_wall_clock() {
        let clock = EventClock::new();
        assert_eq!(clock.now(WALL), WALL);
        assert_eq!(clock.now_in(3, WALL), WALL);
        assert_eq!(clock.behind_millis(WALL), 0);
    }

    #[test]
    fn replaying_it_follows_the_records_per_partition() {
        let mut clock = EventClock::new();
        clock.observe(0, WALL - 30 * DAY, WALL);
        clock.observe(1, WALL - 28 * DAY, WALL);
        assert_eq!(clock.now_in(0, WALL), WALL - 30 * DAY);
        assert_eq!(clock.now_in(1, WALL), WALL - 28 * DAY);
        assert_eq!(clock.now_in(2, WALL), WALL, "a partition never stamped");
        assert_eq!(clock.now(WALL), WALL - 30 * DAY, "the slowest partition");
        assert_eq!(clock.behind_millis(WALL), 30 * DAY);
        // a second later a record two days further on arrives
        clock.observe(0, WALL - 28 * DAY, WALL + 1000);
        assert_eq!(clock.now_in(0, WALL + 1000), WALL - 28 * DAY);
    }

    #[test]
    fn a_partition_left_alone_keeps_up_with_the_furthest() {
        let mut clock = EventClock::new();
        // the end of a catch-up: partition 1's shipments last changed 60 h before the present
        clock.observe(0, WALL - 60 * HOUR, WALL);
        clock.observe(1, WALL - 60 * HOUR, WALL);
        clock.observe(0, WALL - HOUR, WALL + 1000);
        assert_eq!(clock.now_in(1, WALL + 1000), WALL - 60 * HOUR + 1000);
        assert_eq!(clock.now(WALL + 1000), WALL - 60 * HOUR + 1000);
        let later = WALL + SETTLE_MILLIS;
        // not read to its end: records of it may be waiting to be judged at its own clock
        assert_eq!(clock.now_in(1, later), WALL - 60 * HOUR + SETTLE_MILLIS);
        // read to its end and left alone for SETTLE_MILLIS: as far as partition 0
        clock.reached_end(1);
        assert_eq!(clock.now_in(1, later), clock.now_in(0, later));
        assert_eq!(clock.now(later), WALL - HOUR + SETTLE_MILLIS - 1000);
        // and never back: a record of partition 1 with its old stamp changes nothing
        clock.observe(1, WALL - 59 * HOUR, later);
        assert_eq!(clock.now_in(1, later), WALL - HOUR + SETTLE_MILLIS - 1000);
        // being read again, it runs on from there
        assert_eq!(clock.now_in(1, later + 1000), WALL - HOUR + SETTLE_MILLIS);
        assert_eq!(
            clock.now_in(1, later + SETTLE_MILLIS),
            WALL - HOUR + 2 * SETTLE_MILLIS - 1000
        );
        // a partition that moved recently is not pulled along by a further one
        clock.observe(2, WALL - 30 * HOUR, later);
        clock.reached_end(2);
        assert_eq!(clock.now_in(2, later + 1000), WALL - 30 * HOUR + 1000);
    }

    #[test]
    fn quiet_it_runs_on_with_the_wall_clock_up_to_it_and_never_back() {
        let mut clock = EventClock::new();
        clock.observe(0, WALL - 2 * HOUR, WALL);
        // a stall of a minute: a minute on from where the records left it
        assert_eq!(clock.now_in(0, WALL + 60_000), WALL - 2 * HOUR + 60_000);
        // a record with an older watermark does not move it back
        clock.observe(0, WALL - 3 * HOUR, WALL + 60_000);
        assert_eq!(clock.now_in(0, WALL + 60_000), WALL - 2 * HOUR + 60_000);
        // quiet: as far as it will get
        assert_eq!(clock.now_in(0, WALL + QUIET_MILLIS), WALL + QUIET_MILLIS);
        assert_eq!(clock.behind_millis(WALL + HOUR), 0);
        // a watermark ahead of the wall clock (a source dated ahead, within tolerance) is now
        clock.observe(0, WALL + 10 * HOUR, WALL + 6 * HOUR);
        assert_eq!(clock.now_in(0, WALL + 6 * HOUR), WALL + 6 * HOUR);
        assert_eq!(clock.now_in(0, WALL + 7 * HOUR), WALL + 7 * HOUR);
    }
}
