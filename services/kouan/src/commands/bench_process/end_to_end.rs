//! End to end through the broker: the first pass over a published history, the restart of the
//! same history to caught up, and the state two instances hold.

use kouan_bus::{Publisher, Topics};
use kouan_model::Event;
use kouan_processor::runner::{self, ProcessConfig};
use kouan_processor::stats::ProcessStats;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the end-to-end runs measured.
pub(super) struct EndToEnd {
    pub(super) publish_seconds: f64,
    /// First pass: every event read, routed, applied and published.
    pub(super) first_pass_seconds: f64,
    pub(super) published: u64,
    /// A new instance restores the live state from the checkpoint the first one left and
    /// catches up (no new input).
    pub(super) restart_seconds: f64,
    /// The same without a checkpoint: the shared table and every partition read from the topics.
    pub(super) restore_from_topics_seconds: f64,
    /// The checkpoint the first pass left, bytes.
    pub(super) checkpoint_bytes: u64,
    /// Event versions held by one instance, and by each of two in one group.
    pub(super) held_single: u64,
    pub(super) held_pair: (u64, u64),
    /// Equipment events each spilled to local disk (not held in memory).
    pub(super) spilled_single: u64,
    pub(super) spilled_pair: (u64, u64),
}

/// A runner on its own thread, stopped when dropped.
pub(super) struct Running {
    pub(super) stats: Arc<ProcessStats>,
    pub(super) stop: CancellationToken,
    pub(super) worker:
        Option<std::thread::JoinHandle<Result<(), kouan_processor::runner::ProcessError>>>,
}

impl Running {
    pub(super) fn start(config: &ProcessConfig, cancel: &CancellationToken) -> Self {
        let stats = Arc::new(ProcessStats::default());
        let stop = cancel.child_token();
        let worker = std::thread::spawn({
            let (config, stats, stop) = (config.clone(), stats.clone(), stop.clone());
            move || runner::run(&config, &stats, &stop)
        });
        Running {
            stats,
            stop,
            worker: Some(worker),
        }
    }

    pub(super) fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.worker.as_ref().is_some_and(|w| w.is_finished()),
            "the processor stopped early"
        );
        Ok(())
    }

    /// Caught up: owns `partitions` partitions, has read everything, has nothing to publish.
    pub(super) fn caught_up(&self, partitions: u64) -> bool {
        self.stats.live.load(Ordering::Relaxed)
            && self.stats.owned.load(Ordering::Relaxed) == partitions
            && self.stats.quiet.load(Ordering::Relaxed)
            && self.stats.router_quiet.load(Ordering::Relaxed)
    }

    pub(super) fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        if let Some(worker) = self.worker.take() {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("processor panicked"))??;
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits until `done` holds for 1 s on end; returns when it first held.
pub(super) fn wait_until(
    what: &str,
    running: &[&Running],
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<Instant> {
    let started = Instant::now();
    let mut since: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_millis(10));
        for runner in running {
            runner.check()?;
        }
        match (done(), since) {
            (true, None) => since = Some(Instant::now()),
            (true, Some(at)) if at.elapsed() >= Duration::from_secs(1) => return Ok(at),
            (false, _) => since = None,
            _ => {}
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "{what} did not finish in 15 minutes"
        );
    }
}

/// Starts an instance and waits until it owns every partition and is caught up; with the time
/// that took.
fn caught_up_after_start(
    what: &str,
    config: &ProcessConfig,
    cancel: &CancellationToken,
    partitions: u64,
) -> anyhow::Result<(Running, f64)> {
    let started = Instant::now();
    let running = Running::start(config, cancel);
    let done = wait_until(what, &[&running], || running.caught_up(partitions))?;
    Ok((running, (done - started).as_secs_f64()))
}

pub(super) fn end_to_end(
    brokers: &str,
    topics: &Topics,
    events: &[Event],
    cancel: &CancellationToken,
) -> anyhow::Result<EndToEnd> {
    let publisher = Publisher::new(brokers)?;
    let sink = kouan_emitter::sink::EventSink::new(&publisher, topics);
    let started = Instant::now();
    for event in events {
        sink.publish(event)?;
    }
    publisher.flush(Duration::from_secs(300))?;
    let publish_seconds = started.elapsed().as_secs_f64();
    let partitions = kouan_bus::topics::describe(brokers, &topics.by_shipment())?
        .map_or(0, |(partitions, _)| partitions as u64);

    let state_dir =
        std::env::temp_dir().join(format!("kouan-bench-process-{}", std::process::id()));
    std::fs::create_dir_all(&state_dir)?;
    let config = ProcessConfig {
        brokers: brokers.to_string(),
        topics: topics.clone(),
        group: "bench".into(),
        retention: Duration::from_secs(30 * 86_400),
        state_dir: Some(state_dir.clone()),
        checkpoint_every: kouan_processor::runner::DEFAULT_CHECKPOINT_EVERY,
    };
    // first pass: done when every event is routed and the instance is caught up
    let started = Instant::now();
    let first = Running::start(&config, cancel);
    let done = wait_until("the first pass", &[&first], || {
        first.stats.events.load(Ordering::Relaxed) as usize >= events.len()
            && first.caught_up(partitions)
    })?;
    let first_pass_seconds = (done - started).as_secs_f64();
    let published = first.stats.published.load(Ordering::Relaxed);
    let held_single = first.stats.held.load(Ordering::Relaxed);
    let spilled_single = first.stats.spilled.load(Ordering::Relaxed);
    first.stop()?;

    let checkpoint = kouan_processor::checkpoint::path_in(&state_dir);
    let checkpoint_bytes = std::fs::metadata(&checkpoint).map_or(0, |m| m.len());
    anyhow::ensure!(checkpoint_bytes > 0, "the first pass left no checkpoint");

    // restore from the topics alone: what a start without a state directory does
    let from_topics = ProcessConfig {
        state_dir: None,
        ..config.clone()
    };
    let (restored, restore_from_topics_seconds) = caught_up_after_start(
        "the restore from the topics",
        &from_topics,
        cancel,
        partitions,
    )?;
    restored.stop()?;

    // restart: a new instance loads the checkpoint the first pass left, reads what came after
    // and catches up
    let (restarted, restart_seconds) =
        caught_up_after_start("the restart", &config, cancel, partitions)?;

    // scale-out: a second instance (a state directory of its own, empty) joins; each holds its
    // partitions and the shared table
    let second_dir = state_dir.join("second");
    std::fs::create_dir_all(&second_dir)?;
    let second = Running::start(
        &ProcessConfig {
            state_dir: Some(second_dir),
            ..config.clone()
        },
        cancel,
    );
    wait_until("the split", &[&restarted, &second], || {
        let (a, b) = (
            restarted.stats.owned.load(Ordering::Relaxed),
            second.stats.owned.load(Ordering::Relaxed),
        );
        // and each has let go of the container history its shipments do not need
        let spilled = |running: &Running| running.stats.spilled.load(Ordering::Relaxed) > 0;
        a > 0
            && b > 0
            && a + b == partitions
            && restarted.caught_up(a)
            && second.caught_up(b)
            && spilled(&restarted)
            && spilled(&second)
    })?;
    let held_pair = (
        restarted.stats.held.load(Ordering::Relaxed),
        second.stats.held.load(Ordering::Relaxed),
    );
    let spilled_pair = (
        restarted.stats.spilled.load(Ordering::Relaxed),
        second.stats.spilled.load(Ordering::Relaxed),
    );
    restarted.stop()?;
    second.stop()?;
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(EndToEnd {
        publish_seconds,
        first_pass_seconds,
        published,
        restart_seconds,
        restore_from_topics_seconds,
        checkpoint_bytes,
        held_single,
        held_pair,
        spilled_single,
        spilled_pair,
    })
}
