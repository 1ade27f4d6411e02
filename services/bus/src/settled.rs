//! Waiting until no transaction is open on some partitions, before reading them as a whole.
//!
//! A `read_committed` reader ends at the last stable offset: the records of a transaction that is
//! still open (or whose commit markers are still being written after `commit_transaction`
//! returned) are past that end and invisible. A new owner restoring what its predecessor
//! published must not stop there — it would miss the last committed records and publish their
//! version numbers again. So it first waits until the last stable offset reaches the high
//! watermark it saw (every transaction begun before has committed or aborted). An open transaction
//! lasts at most the transaction timeout: the broker aborts it after that, so the wait is bounded.

use crate::error::BusError;
use crate::timing::{SETTLE_RETRY, WATERMARKS};
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Waits until every transaction open on `partitions` of `topic` now has ended (committed or
/// aborted), or until `cancel`. A broker that cannot be asked is asked again.
pub fn await_settled(
    brokers: &str,
    name: &str,
    topic: &str,
    partitions: &[i32],
    cancel: &CancellationToken,
) -> Result<(), BusError> {
    Probes::new(brokers, name)?.await_settled(topic, partitions, cancel)
}

/// The two clients [`await_settled`] asks through, made once: a restoring processor makes them
/// as it starts, so that their connections are up by the time it is assigned partitions (making
/// and connecting them on the spot was ~0.1 s of every restore).
pub struct Probes {
    everything: BaseConsumer,
    committed: BaseConsumer,
}

impl Probes {
    pub fn new(brokers: &str, name: &str) -> Result<Self, BusError> {
        Ok(Probes {
            everything: isolated(brokers, name, "read_uncommitted").create()?,
            committed: isolated(brokers, name, "read_committed").create()?,
        })
    }

    /// Connects both clients now, asking for `topic`'s metadata (librdkafka connects only when
    /// a request needs it); a failure is left for the asks to meet again.
    pub fn connect(&self, topic: &str) {
        for client in [&self.everything, &self.committed] {
            let _ = client.fetch_metadata(Some(topic), crate::timing::METADATA);
        }
    }

    /// [`await_settled`] through these clients.
    pub fn await_settled(
        &self,
        topic: &str,
        partitions: &[i32],
        cancel: &CancellationToken,
    ) -> Result<(), BusError> {
        self.await_settled_polling(topic, partitions, cancel, &mut || {})
    }

    /// [`Probes::await_settled`], calling `keep_alive` between its asks (a restoring processor
    /// polls its group there).
    pub fn await_settled_polling(
        &self,
        topic: &str,
        partitions: &[i32],
        cancel: &CancellationToken,
        keep_alive: &mut dyn FnMut(),
    ) -> Result<(), BusError> {
        let (everything, committed) = (&self.everything, &self.committed);
        let started = Instant::now();
        let asked: Vec<(String, i32)> = partitions
            .iter()
            .map(|partition| (topic.to_string(), *partition))
            .collect();
        let Some(highs) = ask(everything, &asked, cancel) else {
            return Ok(());
        };
        let mut waiting: Vec<Pending> = asked.into_iter().zip(highs).collect();
        let mut told = Instant::now();
        loop {
            let still: Vec<(String, i32)> =
                waiting.iter().map(|(asked, _)| asked.clone()).collect();
            let Some(stables) = ask(committed, &still, cancel) else {
                return Ok(());
            };
            let open: Vec<(Pending, i64)> = waiting
                .into_iter()
                .zip(stables)
                .filter(|((_, high), stable)| stable < high)
                .collect();
            if open.is_empty() {
                break;
            }
            if told.elapsed() >= std::time::Duration::from_secs(2) {
                for (((topic, partition), high), stable) in &open {
                    tracing::info!(
                        topic,
                        partition,
                        stable,
                        high,
                        "waiting for an open transaction to end"
                    );
                }
                told = Instant::now();
            }
            waiting = open.into_iter().map(|(waiting, _)| waiting).collect();
            keep_alive();
            std::thread::sleep(SETTLE_RETRY);
        }
        tracing::debug!(
            topic,
            ?partitions,
            seconds = started.elapsed().as_secs_f64(),
            "partitions settled"
        );
        Ok(())
    }
}

/// A partition not settled yet, with the high watermark its last stable offset must reach.
type Pending = ((String, i32), i64);

/// A client that only asks for offsets, seeing the log as a reader of `isolation` would.
fn isolated(brokers: &str, name: &str, isolation: &str) -> rdkafka::ClientConfig {
    let mut config = crate::config::consumer(brokers, name);
    config.set("isolation.level", isolation);
    config
}

/// The end of each partition as `consumer` sees it (the high watermark, or the last stable
/// offset for a `read_committed` client), all asked at once; `None` once cancelled.
fn ask(
    consumer: &BaseConsumer,
    partitions: &[(String, i32)],
    cancel: &CancellationToken,
) -> Option<Vec<i64>> {
    loop {
        let answers = crate::watermarks::fetch_all(consumer, partitions, WATERMARKS);
        match answers.into_iter().collect::<Result<Vec<_>, _>>() {
            Ok(ends) => return Some(ends.into_iter().map(|(_, high)| high).collect()),
            Err(_) if cancel.is_cancelled() => return None,
            Err(error) => {
                tracing::warn!(%error, ?partitions, "asking for the end of partitions, retrying");
                std::thread::sleep(SETTLE_RETRY);
            }
        }
    }
}
