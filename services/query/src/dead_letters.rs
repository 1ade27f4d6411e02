//! What the dead-letter topic holds, counted for the operator's dashboard: rejected input, late
//! events the processor's horizon turned away, and notices of records lost to retention — the
//! ways data leaves the pipeline without reaching a status, none of them silent.
//!
//! A thread follows `kouan.deadletter` from the beginning for as long as the service runs and
//! counts each record by its reason (`kouan-reject-reason`); the counts cover what the topic
//! holds (its retention, 7 days by default) and are rebuilt by reading it again on restart.

use kouan_bus::headers::{LOST_RECORDS, REJECT_REASON};
use kouan_bus::{Follower, Topics};
use rdkafka::message::{Headers, Message};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// The counts, shared with the API.
#[derive(Debug, Default)]
pub struct DeadLetters {
    rejected: AtomicU64,
    late: AtomicU64,
    lost: AtomicU64,
}

/// The counts as `/v1/network` answers them to an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeadLetterCounts {
    /// Input a reader or the processor rejected as invalid.
    pub rejected: u64,
    /// Late events: of shipments already forgotten, of conveyances nothing reached before the
    /// horizon (reason `late:`).
    pub late: u64,
    /// Event records deleted by retention before the processor read them (reason `lost:`).
    pub lost: u64,
}

/// How one dead letter counts: which of the counts, by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Rejected,
    Late,
    Lost(u64),
}

/// How a dead letter with this reason and `kouan-lost-records` header counts.
pub fn counted(reason: Option<&str>, lost_records: Option<&str>) -> Counted {
    match reason {
        Some(reason) if reason.starts_with("late:") => Counted::Late,
        Some(reason) if reason.starts_with("lost:") => {
            Counted::Lost(lost_records.and_then(|n| n.parse().ok()).unwrap_or(0))
        }
        _ => Counted::Rejected,
    }
}

impl DeadLetters {
    pub fn counts(&self) -> DeadLetterCounts {
        DeadLetterCounts {
            rejected: self.rejected.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }

    fn add(&self, counted: Counted) {
        let (count, by) = match counted {
            Counted::Rejected => (&self.rejected, 1),
            Counted::Late => (&self.late, 1),
            Counted::Lost(records) => (&self.lost, records),
        };
        count.fetch_add(by, Ordering::Relaxed);
    }

    /// Follows the dead-letter topic on a thread of its own until `cancel`. A broker that cannot
    /// be asked is asked again; the counts only grow.
    pub fn follow(
        self: Arc<Self>,
        brokers: String,
        topics: &Topics,
        cancel: CancellationToken,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let topic = topics.deadletter();
        std::thread::Builder::new()
            .name("kouan-dead-letters".into())
            .spawn(move || {
                let mut follower = loop {
                    match Follower::from_beginning(
                        &brokers,
                        "kouan-serve-dead-letters",
                        std::slice::from_ref(&topic),
                        &cancel,
                    ) {
                        Ok(follower) => break follower,
                        Err(error) if !cancel.is_cancelled() => {
                            tracing::warn!(%error, topic, "reading the dead letters; trying again");
                            std::thread::sleep(Duration::from_secs(5));
                        }
                        Err(_) => return,
                    }
                };
                while !cancel.is_cancelled() {
                    let Some(message) = follower.poll(Duration::from_millis(500)) else {
                        continue;
                    };
                    let header = |name: &str| {
                        message.headers().and_then(|headers| {
                            headers
                                .iter()
                                .find(|header| header.key == name)
                                .and_then(|header| std::str::from_utf8(header.value?).ok())
                        })
                    };
                    self.add(counted(header(REJECT_REASON), header(LOST_RECORDS)));
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dead_letter_counts_where_its_reason_says() {
        assert_eq!(
            counted(Some("eventTime: is required"), None),
            Counted::Rejected
        );
        assert_eq!(counted(None, None), Counted::Rejected);
        assert_eq!(
            counted(Some("late: shipment S finished at T"), None),
            Counted::Late
        );
        assert_eq!(
            counted(Some("lost: offsets 0 to 9 (10 records)"), Some("10")),
            Counted::Lost(10)
        );
        let letters = DeadLetters::default();
        for counted in [
            Counted::Late,
            Counted::Lost(10),
            Counted::Rejected,
            Counted::Lost(2),
        ] {
            letters.add(counted);
        }
        assert_eq!(
            letters.counts(),
            DeadLetterCounts {
                rejected: 1,
                late: 1,
                lost: 12
            }
        );
    }
}
