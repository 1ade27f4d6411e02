//! `kouan serve`: follows `kouan.status` and `kouan.alerts` into the store (from the beginning,
//! or from the offsets of the store's local [`checkpoint`](crate::checkpoint) when it has one),
//! keeps the SQL snapshot fresh, resumes the webhooks, and serves the API until cancelled.

use crate::api::{self, AppState};
use crate::auth::Auth;
use crate::error::QueryError;
use crate::metrics::{Metrics, TopicLabels};
use crate::record::{Origin, TopicId};
use crate::snapshot::Snapshots;
use crate::sql::{SqlEngine, SqlLimits};
use crate::store::{Intake, Read, Store};
use crate::webhook::{WebhookLimits, Webhooks};
use kouan_bus::{Follower, Publisher, Topics};
use rdkafka::Message;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub brokers: String,
    pub topics: Topics,
    pub listen: SocketAddr,
    pub feed_window: usize,
    pub sql: SqlLimits,
    pub webhooks: WebhookLimits,
    pub http: HttpLimits,
    /// Where the store's checkpoint is kept; `None`: no checkpoint, every start reads the
    /// topics from the beginning.
    pub state_dir: Option<std::path::PathBuf>,
    /// How often the checkpoint is written (and once more at shutdown).
    pub checkpoint_every: Duration,
    /// What the event intake reads with.
    pub intake: IntakeSettings,
}

/// The event intake's configuration (its writer is made from the brokers at start).
#[derive(Debug, Clone, Default)]
pub struct IntakeSettings {
    pub zones: kouan_standards::SourceZones,
    pub subscriptions: crate::ingest::callbacks::Subscriptions,
    pub max_body_bytes: usize,
}

/// What one client can take of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Open feeds (SSE) at most; one more is refused with 503.
    pub max_feed_clients: usize,
    /// Time a client has to send a request's headers, and that a kept-alive connection may wait
    /// for its next request.
    pub header_read_timeout: Duration,
    /// Open connections at most; one more is closed at once.
    pub max_connections: usize,
    /// `/metrics` answers only to an operator token.
    pub protect_metrics: bool,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_feed_clients: 10_000,
            protect_metrics: false,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 20_000,
        }
    }
}

/// A running query service.
pub struct Server {
    pub state: AppState,
    pub local_addr: SocketAddr,
    listener: tokio::net::TcpListener,
    follower: std::thread::JoinHandle<Result<(), QueryError>>,
}

impl Server {
    /// Binds the listener, starts following the topics and resumes the webhooks; `serve` then
    /// answers requests.
    pub async fn start(
        config: ServeConfig,
        auth: Auth,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) -> Result<Self, QueryError> {
        let store = Arc::new(Store::new(config.feed_window));
        // counts only: it stops with the token, and a broker it cannot reach it asks again
        store
            .dead_letters
            .clone()
            .follow(config.brokers.clone(), &config.topics, cancel.clone())
            .map_err(|source| QueryError::Io {
                context: "starting the dead letters' thread".into(),
                source,
            })?;
        let snapshots = Arc::new(Snapshots::default());
        let sql = Arc::new(SqlEngine::new(snapshots.clone(), config.sql.clone())?);
        let publisher = Arc::new(Publisher::new(&config.brokers)?);
        let webhooks = Arc::new(Webhooks::new(
            store.clone(),
            Some(publisher),
            config.topics.subscriptions(),
            cancel.clone(),
            &metrics,
            config.webhooks.clone(),
        ));
        let intake = Arc::new(crate::api::intake::IntakeConfig {
            writer: crate::ingest::writer::Writer::new(&config.brokers, config.topics.clone())?,
            zones: config.intake.zones.clone(),
            subscriptions: config.intake.subscriptions.clone(),
            max_body_bytes: config.intake.max_body_bytes,
        });
        let ready = Arc::new(AtomicBool::new(false));
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| QueryError::Io {
                context: format!("listening on {}", config.listen),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| QueryError::Io {
            context: "reading the listen address".into(),
            source,
        })?;

        // every subscription and its progress, before the first request; then the topic and
        // the deliverers' group are followed on their own thread
        let subscriptions = {
            let (webhooks, brokers, topic, cancel) = (
                webhooks.clone(),
                config.brokers.clone(),
                config.topics.subscriptions(),
                cancel.clone(),
            );
            tokio::task::spawn_blocking(move || {
                crate::webhook::deliverers::load(&webhooks, &brokers, &topic, &cancel)
            })
            .await
            .expect("subscription reader does not panic")?
        };
        tracing::info!(
            subscriptions = webhooks.len(),
            "webhook subscriptions loaded"
        );
        {
            let (webhooks, brokers, topic, cancel) = (
                webhooks.clone(),
                config.brokers.clone(),
                config.topics.subscriptions(),
                cancel.clone(),
            );
            std::thread::Builder::new()
                .name("kouan-webhooks".into())
                .spawn(move || {
                    let followed = crate::webhook::deliverers::follow(
                        webhooks,
                        subscriptions,
                        &brokers,
                        &topic,
                        &cancel,
                    );
                    if let Err(error) = followed {
                        tracing::error!(%error, "webhook subscriptions follower failed, stopping");
                        cancel.cancel();
                    }
                })
                .map_err(|source| QueryError::Io {
                    context: "starting the webhooks thread".into(),
                    source,
                })?;
        }

        let checkpoint_max_age = match &config.state_dir {
            Some(_) => checkpoint_max_age(&config).await,
            None => None,
        };
        let follower = {
            let (store, snapshots, metrics, ready, cancel) = (
                store.clone(),
                snapshots.clone(),
                metrics.clone(),
                ready.clone(),
                cancel.clone(),
            );
            let config = config.clone();
            std::thread::Builder::new()
                .name("kouan-store".into())
                .spawn(move || {
                    let result = follow(
                        &config,
                        checkpoint_max_age,
                        &store,
                        &snapshots,
                        &metrics,
                        &ready,
                        &cancel,
                    );
                    if let Err(error) = &result {
                        tracing::error!(%error, "store follower failed, stopping");
                        cancel.cancel();
                    }
                    result
                })
                .map_err(|source| QueryError::Io {
                    context: "starting the store thread".into(),
                    source,
                })?
        };
        Ok(Self {
            state: AppState {
                store,
                sql,
                auth: Arc::new(auth),
                webhooks,
                metrics,
                cancel,
                ready,
                http: config.http.clone(),
                intake: Some(intake),
            },
            local_addr,
            listener,
            follower,
        })
    }

    /// Serves until the token is cancelled, then waits for the follower.
    pub async fn serve(self) -> Result<(), QueryError> {
        let cancel = self.state.cancel.clone();
        let webhooks = self.state.webhooks.clone();
        let limits = self.state.http.clone();
        let app = api::router(self.state);
        tracing::info!(listen = %self.local_addr, "serving");
        crate::http_server::serve(self.listener, app, &limits, cancel).await;
        webhooks.finish(WEBHOOKS_AT_SHUTDOWN).await;
        let followed = tokio::task::spawn_blocking(move || self.follower.join())
            .await
            .expect("joining the follower");
        followed.unwrap_or(Ok(()))
    }
}

/// How long a stopping server waits for webhook deliveries in flight (a POST's own timeout is
/// 10 s).
const WEBHOOKS_AT_SHUTDOWN: Duration = Duration::from_secs(12);

/// Shortest pause between two snapshot refreshes while records flow; a refresh that takes long
/// (a replay) stretches it to four times its own duration.
const REFRESH_EVERY: Duration = Duration::from_millis(200);
/// No record for this long: the topics are quiet, refresh now (a lookup then sees the change
/// at once) and, once caught up, the store is loaded.
const QUIET: Duration = Duration::from_millis(50);
/// Shortest pause between refreshes once quiet.
const QUIET_REFRESH: Duration = Duration::from_millis(20);
/// How long one poll of the topics waits: short, so refreshes and lag reports stay on time.
const POLL: Duration = Duration::from_millis(20);
/// Records read, decoded and applied at a time: enough to keep both cores decoding while a
/// replay rebuilds the store, few enough that the snapshot and checkpoint keep their pace.
const BATCH: usize = 4096;

/// Reads both topics into the store until cancelled; refreshes the snapshot at most every
/// 200 ms, or less often while a refresh takes long (during a replay), and reports lag.
fn follow(
    config: &ServeConfig,
    checkpoint_max_age: Option<Duration>,
    store: &Store,
    snapshots: &Snapshots,
    metrics: &Metrics,
    ready: &AtomicBool,
    cancel: &CancellationToken,
) -> Result<(), QueryError> {
    let status_topic = config.topics.status();
    let alerts_topic = config.topics.alerts();
    let name = format!("kouan-serve-{}", std::process::id());
    let restored = match (&config.state_dir, checkpoint_max_age) {
        (Some(dir), Some(max_age)) => usable_checkpoint(config, &name, dir, max_age)?,
        _ => None,
    };
    // "loaded" is the follower's caught up: every partition read up to where it ended at start-up
    let mut follower = match restored {
        Some(checkpoint) => {
            let begun = Instant::now();
            let starts = [
                (
                    status_topic.clone(),
                    checkpoint.position.offsets(TopicId::Status).to_vec(),
                ),
                (
                    alerts_topic.clone(),
                    checkpoint.position.offsets(TopicId::Alerts).to_vec(),
                ),
            ];
            let (statuses, alerts) = (checkpoint.statuses.len(), checkpoint.alerts.len());
            let rejected = store.restore(checkpoint);
            tracing::info!(
                statuses,
                alerts,
                rejected,
                seconds = begun.elapsed().as_secs_f64(),
                "store restored from its checkpoint; reading on from its offsets"
            );
            let reader = kouan_bus::reader::from_positions(&config.brokers, &name, &starts)?;
            Follower::new(reader, cancel)?
        }
        None => Follower::from_beginning(
            &config.brokers,
            &name,
            &[status_topic.clone(), alerts_topic.clone()],
            cancel,
        )?,
    };
    let mut checkpoints = config.state_dir.as_deref().map(|dir| {
        crate::checkpoint::Writer::new(dir, config.checkpoint_every, &status_topic, &alerts_topic)
    });
    store.set_partitions(
        kouan_bus::reader::partitions(follower.reader(), &status_topic)? as usize,
        kouan_bus::reader::partitions(follower.reader(), &alerts_topic)? as usize,
    );
    let started = Instant::now();
    let mut quiet_since = Instant::now();
    let mut refreshed_at = Instant::now();
    let mut refresh_every = REFRESH_EVERY;
    let mut lag_at = Instant::now();
    let mut read = 0u64;
    let mut intake = Intake::default();
    let labels = |topic: &str| TopicLabels {
        topic: topic.to_string(),
    };
    while !cancel.is_cancelled() {
        // a batch of what is there (waiting only for its first record), decoded on every core
        // beside the application of the batch before (see `Intake`)
        let mut reads = Vec::new();
        let mut wait = POLL;
        while reads.len() < BATCH {
            let Some(message) = follower.poll(wait) else {
                break;
            };
            wait = Duration::ZERO;
            let topic = message.topic();
            let which = if topic == status_topic {
                TopicId::Status
            } else {
                TopicId::Alerts
            };
            metrics.records.get_or_create(&labels(topic)).inc();
            reads.push(Read {
                origin: Origin {
                    topic: which,
                    partition: message.partition(),
                    offset: message.offset(),
                },
                key: message.key().map(Into::into),
                payload: message.payload().map(Into::into),
                watermark: (which == TopicId::Status)
                    .then(|| kouan_bus::headers::watermark_of(&message))
                    .flatten(),
            });
        }
        if !reads.is_empty() {
            quiet_since = Instant::now();
            read += reads.len() as u64;
        }
        let more_follow = reads.len() == BATCH;
        for (origin, error) in intake.take(store, reads, more_follow) {
            let topic = match origin.topic {
                TopicId::Status => &status_topic,
                TopicId::Alerts => &alerts_topic,
            };
            metrics.rejected.get_or_create(&labels(topic)).inc();
            tracing::warn!(%error, topic, partition = origin.partition, offset = origin.offset, "record skipped");
        }
        // an end of either topic's partition p (the follower tells partition numbers only): at
        // worst the clock of status partition p keeps up with the others a moment early
        let ended = follower.take_ended();
        if !ended.is_empty() {
            store.status_partitions_ended(ended);
        }
        let idle = quiet_since.elapsed() >= QUIET;
        if refreshed_at.elapsed() >= refresh_every
            || (idle && refreshed_at.elapsed() >= QUIET_REFRESH)
        {
            let begun = Instant::now();
            if snapshots.refresh(store) {
                let took = begun.elapsed();
                metrics.snapshot_refresh.observe(took.as_secs_f64());
                refresh_every = (took * 4).max(REFRESH_EVERY);
            }
            refreshed_at = Instant::now();
        }
        if !ready.load(Ordering::Relaxed) && idle && follower.caught_up() {
            snapshots.refresh(store);
            ready.store(true, Ordering::Release);
            let counts = store.counts();
            tracing::info!(
                records = read,
                shipments = counts.shipments,
                alerts = counts.alerts,
                seconds = started.elapsed().as_secs_f64(),
                "store loaded"
            );
        }
        if let Some(checkpoints) = checkpoints.as_mut() {
            // only once loaded: the store then follows the topics' end (a live pipeline never
            // goes quiet for long, so waiting for a pause could mean never), and the records it
            // has not seen are seconds old, well inside the checkpoint's age bound
            if ready.load(Ordering::Relaxed) {
                checkpoints.tick(store);
            }
        }
        if lag_at.elapsed() >= kouan_bus::timing::LAG_REPORT {
            lag_at = Instant::now();
            for (topic, lag) in follower.lag() {
                metrics.lag.get_or_create(&labels(&topic)).set(lag);
            }
        }
    }
    // what a full last batch held back is read: the shutdown checkpoint reflects it
    for (origin, error) in intake.flush(store) {
        tracing::warn!(%error, partition = origin.partition, offset = origin.offset, "record skipped");
    }
    if let Some(checkpoints) = checkpoints {
        checkpoints.finish(store);
    }
    Ok(())
}

/// How old a checkpoint may be ([`kouan_bus::checkpoint_file::max_age`] of the two compacted
/// topics).
async fn checkpoint_max_age(config: &ServeConfig) -> Option<Duration> {
    let topics = [config.topics.status(), config.topics.alerts()];
    kouan_bus::checkpoint_file::max_age(&config.brokers, &topics).await
}

/// The checkpoint in `dir` if it is exactly what reading the topics again would give (see
/// [`crate::checkpoint`]); otherwise `None`, with the reason logged.
fn usable_checkpoint(
    config: &ServeConfig,
    name: &str,
    dir: &std::path::Path,
    max_age: Duration,
) -> Result<Option<crate::checkpoint::Checkpoint>, QueryError> {
    let path = crate::checkpoint::path_in(dir);
    let checkpoint = match crate::checkpoint::read(&path) {
        Ok(Some(checkpoint)) => checkpoint,
        Ok(None) => return Ok(None),
        Err(error) => {
            tracing::warn!(%error, "store checkpoint refused, reading the topics from the beginning");
            return Ok(None);
        }
    };
    let refuse = |reason: String| {
        tracing::warn!(reason, path = %path.display(), "store checkpoint refused, reading the topics from the beginning");
        Ok(None)
    };
    if let Err(reason) = kouan_bus::checkpoint_file::check_age(
        checkpoint.written_at_millis,
        kouan_model::wall_millis(),
        max_age,
    ) {
        return refuse(reason);
    }
    let probe = kouan_bus::reader::reader(&config.brokers, name)?;
    for (topic, which, named) in [
        (
            config.topics.status(),
            TopicId::Status,
            &checkpoint.status_topic,
        ),
        (
            config.topics.alerts(),
            TopicId::Alerts,
            &checkpoint.alerts_topic,
        ),
    ] {
        if &topic != named {
            return refuse(format!("it is of topic {named}, not {topic}"));
        }
        let partitions = kouan_bus::reader::partitions(&probe, &topic)?;
        let offsets = checkpoint.position.offsets(which);
        if offsets.len() > partitions as usize {
            return refuse(format!(
                "it names {} partitions of {topic}, which has {partitions}",
                offsets.len()
            ));
        }
        let resumed = (0..partitions).map(|p| (p, offsets.get(p as usize).copied().unwrap_or(0)));
        if let Err(reason) = kouan_bus::checkpoint_file::offsets_in_range(&probe, &topic, resumed)?
        {
            return refuse(reason);
        }
    }
    Ok(Some(checkpoint))
}
