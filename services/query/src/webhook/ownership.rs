//! Whether this replica may still act as the deliverer of what it was assigned. A replica paused
//! (SIGSTOP, a long GC-like stall, a frozen VM) longer than the group's session timeout has been
//! replaced by the time it runs again, but its delivery tasks would POST and record progress
//! before the group tells it so. Every POST and every progress write therefore waits for a
//! recent confirmation from the group's follow loop, and that loop confirms nothing after a stall
//! until the group has rebalanced (or long enough has passed that it would have).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A gap between two turns of the follow loop longer than this may have cost the membership
/// (the group's session timeout is 6 s).
pub const STALL_MILLIS: i64 = 3_000;
/// After a stall with no rebalance for this long, the membership survived it.
pub const SURVIVED_MILLIS: i64 = 12_000;
/// A confirmation older than this is not trusted.
pub const FRESH_MILLIS: i64 = 1_000;

/// The follow loop's judgement, turn by turn: plain data, so it can be tested without a group.
#[derive(Debug, Default)]
pub struct Watch {
    last_turn: Option<i64>,
    /// After a stall: the rebalances counted then, and when the loop ran again.
    stalled: Option<(u64, i64)>,
}

impl Watch {
    /// One turn of the loop at `now`, with the member's rebalances so far and whether it knows
    /// its assignment lost: whether the assignment it holds may be acted on.
    pub fn turn(&mut self, now: i64, rebalances: u64, lost: bool) -> bool {
        if self.last_turn.is_some_and(|last| now - last > STALL_MILLIS) {
            self.stalled = Some((rebalances, now));
        }
        self.last_turn = Some(now);
        if lost {
            return false;
        }
        if let Some((counted, since)) = self.stalled {
            if rebalances <= counted && now - since <= SURVIVED_MILLIS {
                return false;
            }
            self.stalled = None;
        }
        true
    }
}

/// The latest confirmation, shared by the follow loop and the delivery tasks.
#[derive(Debug, Default)]
pub struct Ownership {
    confirmed_at: AtomicI64,
}

impl Ownership {
    pub fn confirm(&self, now: i64) {
        self.confirmed_at.store(now, Ordering::SeqCst);
    }

    pub fn withdraw(&self) {
        self.confirmed_at.store(0, Ordering::SeqCst);
    }

    pub fn is_fresh(&self, now: i64) -> bool {
        now - self.confirmed_at.load(Ordering::SeqCst) <= FRESH_MILLIS
    }

    /// Waits for a fresh confirmation: true then, false when `stop` comes first (the
    /// subscription went to another replica meanwhile).
    pub async fn wait(&self, stop: &CancellationToken) -> bool {
        loop {
            if stop.is_cancelled() {
                return false;
            }
            if self.is_fresh(kouan_model::wall_millis()) {
                return true;
            }
            tokio::select! {
                _ = stop.cancelled() => return false,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_stall_nothing_is_confirmed_until_the_group_has_rebalanced() {
        let mut watch = Watch::default();
        assert!(watch.turn(1_000, 1, false));
        assert!(watch.turn(1_050, 1, false));
        // paused for 20 s: the group has surely replaced this member
        assert!(!watch.turn(21_050, 1, false));
        assert!(!watch.turn(21_100, 1, false));
        // the revocation arrives: from now on the assignment is the group's again
        assert!(watch.turn(23_000, 2, false));
        // a short hiccup the membership survived: confirmed again once no rebalance came
        assert!(!watch.turn(27_000, 2, false));
        for now in (28_000..=39_000).step_by(1_000) {
            assert!(!watch.turn(now, 2, false), "{now}");
        }
        assert!(watch.turn(39_001, 2, false));
        // an assignment librdkafka knows lost is never acted on
        assert!(!watch.turn(39_050, 3, true));
    }
}
