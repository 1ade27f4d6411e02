//! The Kafka runner of `kouan process`: a thin shell around [`Engine`], with its state of record
//! in Kafka.
//!
//! **Where the state lives.** Two compacted internal topics hold everything the engine needs, keyed
//! by event identity (see [`crate::changelog`]):
//! - `kouan.internal.by-shipment`: the direct events (shipment, air, customs), placed in the
//!   partition of the shipment they name — co-partitioned with `kouan.status`. Partition *p* of
//!   both is one unit of work, owned by one instance.
//! - `kouan.internal.shared`: equipment and transport events (a container or train touches
//!   shipments of every partition) and each live shipment's links; every instance holds it whole,
//!   as a Kafka Streams GlobalKTable.
//!
//! **Two consume–transform–produce loops per instance**, each in one transaction per cycle (EOS
//! v2): the [`crate::router`] routes input events to the internal topics (its own group); the
//! shipment stage here reads the by-shipment partitions the group (`--group`) assigned to this
//! instance and follows the shared table outside the group. Changed records go to `kouan.status`,
//! and the consumed offsets are committed in the same transaction, so a crash at any moment
//! neither loses nor repeats an effect, and a zombie (an instance paused past its session timeout
//! whose partitions moved on) cannot commit: every commit carries the position of every assigned
//! partition with the group's generation, a zombie's is refused, its transaction aborts and it
//! starts over.
//!
//! **Restart and scale-out.** An instance restores the shared table (to its end), joins the
//! group, and for each by-shipment partition it is assigned reads that partition and the same
//! partition of `kouan.status`, recomputes its shipments once and publishes only those that differ
//! from what the topic holds; then it resumes from the group's committed offsets. Restore reads
//! live state only — event topics may have been deleted by retention long before. With a state
//! directory an instance also keeps a local checkpoint ([`crate::checkpoint`]) and a restart reads
//! only what came after it.
//!
//! **Retention** ([`crate::retention`]): an owned shipment finished more than `retention` ago
//! (event time) is forgotten: its by-shipment records are tombstoned, a `forgotten` links record
//! tells every instance, and the container and conveyance events no remembered shipment can reach
//! any more are tombstoned by the instance owning their "home" partition.

use crate::router::Router;
use crate::stats::ProcessStats;
use crate::tenure::Tenure;
use kouan_bus::{BusError, Topics};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The topics do not fit together; starting over would not help.
    #[error("topics: {0}")]
    Topology(String),
}

impl From<rdkafka::error::KafkaError> for ProcessError {
    fn from(error: rdkafka::error::KafkaError) -> Self {
        ProcessError::Bus(error.into())
    }
}

#[derive(Debug, Clone)]
pub struct ProcessConfig {
    pub brokers: String,
    pub topics: Topics,
    /// Consumer group of the instances that share the work.
    pub group: String,
    /// Finished shipments are forgotten this long (event time) after they finish.
    pub retention: Duration,
    /// Where the shipment stage keeps its local checkpoint ([`crate::checkpoint`]); `None`:
    /// every start restores from the topics.
    pub state_dir: Option<std::path::PathBuf>,
    /// How often a checkpoint is taken (and once at a clean stop).
    pub checkpoint_every: Duration,
}

/// [`ProcessConfig::checkpoint_every`]'s default.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(300);

/// Wait before starting over after a failed tenure, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs the router ([`crate::router`]) and the shipment stage until `cancel`, each on its own
/// thread; either failing for good stops both.
pub fn run(
    config: &ProcessConfig,
    stats: &ProcessStats,
    cancel: &CancellationToken,
) -> Result<(), ProcessError> {
    let stop = cancel.child_token();
    let (routed, processed) = std::thread::scope(|scope| {
        let router = scope.spawn(|| {
            let result = with_restarts("router", &stop, |name| {
                let mut router = Router::start(config, stats, name)?;
                let result = router.run(&stop);
                router.close();
                result
            });
            stop.cancel();
            result
        });
        let processed = with_restarts("shipments", &stop, |name| {
            let mut tenure = Tenure::start(config, stats, &stop, name)?;
            let result = tenure.run();
            tenure.close();
            if result.is_err() {
                // the stage is not live until its next tenure hears from its group (the
                // router's restarts leave it alone: the stage goes on through them)
                stats.live.store(false, Ordering::Relaxed);
            }
            result
        });
        stop.cancel();
        let routed = router
            .join()
            .unwrap_or_else(|_| Err(ProcessError::Topology("the router panicked".into())));
        (routed, processed)
    });
    routed.and(processed)
}

/// Runs `body` until `cancel`; a failed or fenced tenure is followed by a new one restored
/// from Kafka (the broker went away, the group moved on while this instance was paused).
fn with_restarts(
    stage: &str,
    cancel: &CancellationToken,
    mut body: impl FnMut(&str) -> Result<(), ProcessError>,
) -> Result<(), ProcessError> {
    let mut backoff = FIRST_BACKOFF;
    while !cancel.is_cancelled() {
        let started = Instant::now();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{stage}-{}-{nanos}", std::process::id());
        match body(&name) {
            Ok(()) => return Ok(()),
            Err(ProcessError::Topology(reason)) => return Err(ProcessError::Topology(reason)),
            Err(error) => {
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = FIRST_BACKOFF;
                }
                tracing::warn!(%error, stage, ?backoff, "processing stopped; starting over from the state in kafka");
                let deadline = Instant::now() + backoff;
                while Instant::now() < deadline && !cancel.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    Ok(())
}

/// The partition counts the runner places records with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Of `by-shipment` and `status` (equal: they are co-partitioned).
    pub shipments: i32,
    pub shared: i32,
}

pub(crate) fn layout(config: &ProcessConfig) -> Result<Layout, ProcessError> {
    let count = |topic: String| -> Result<i32, ProcessError> {
        kouan_bus::topics::describe(&config.brokers, &topic)?
            .map(|(partitions, _)| partitions)
            .ok_or_else(|| {
                ProcessError::Topology(format!("{topic} does not exist (kouan topics create)"))
            })
    };
    let status = count(config.topics.status())?;
    let by_shipment = count(config.topics.by_shipment())?;
    if status != by_shipment {
        return Err(ProcessError::Topology(format!(
            "{} has {by_shipment} partitions and {} has {status}: they must be equal (co-partitioned by shipment)",
            config.topics.by_shipment(),
            config.topics.status()
        )));
    }
    Ok(Layout {
        shipments: status,
        shared: count(config.topics.shared())?,
    })
}
