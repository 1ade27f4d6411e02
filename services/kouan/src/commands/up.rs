//! `kouan up`: everything in one process for a first look.

use crate::cli::{ScenarioArgs, SimulateArgs, UpArgs};
use anyhow::Context;
use kouan_alerter::runner::{AlertConfig, AlertStats};
use kouan_alerter::Rules;
use kouan_bus::{EmbeddedBroker, Topics};
use kouan_processor::runner::ProcessConfig;
use kouan_processor::stats::ProcessStats;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub async fn run(args: UpArgs, topics: Topics, cancel: CancellationToken) -> anyhow::Result<i32> {
    let mut embedded = None;
    // However this returns — a step failing after the pipeline's threads started (the API's address
    // taken, say) included — they are told to stop: a blocking thread cannot be aborted, and one
    // left running kept the process alive, deaf to SIGTERM, once its runtime was being dropped.
    let _stop_everything = cancel.clone().drop_guard();
    let brokers = match &args.brokers {
        Some(brokers) => {
            kouan_bus::topics::ensure_topics(brokers, &topics)
                .await
                .context("making sure the topics exist")?;
            brokers.clone()
        }
        None => {
            let specs = topics.all_specs(kouan_bus::topics::DEFAULT_EVENT_RETENTION);
            let broker = EmbeddedBroker::start(&specs, kouan_bus::topics::DEFAULT_PARTITIONS)
                .context("starting the embedded broker")?;
            let servers = broker.bootstrap_servers().to_string();
            embedded = Some(broker);
            servers
        }
    };
    println!(
        "kouan up: broker {brokers}{}",
        if embedded.is_some() {
            " (embedded)"
        } else {
            ""
        }
    );

    let start = kouan_model::wall_millis() - args.history.as_millis() as i64;
    let start = kouan_model::Timestamp::from_parts(start.div_euclid(1000), 0, 8 * 3600)
        .expect("now is in range");
    let simulate = SimulateArgs {
        brokers: Some(brokers.clone()),
        rate: args.rate.unwrap_or(f64::INFINITY),
        duration: Duration::ZERO,
        out: None,
        format: Vec::new(),
        format_zone: "Asia/Shanghai".into(),
        truth: None,
        speed: None,
        live: true,
        scenario: ScenarioArgs {
            seed: args.seed,
            start: start.to_rfc3339(),
            shipments_per_day: args.shipments_per_day,
            anomaly_rate: 0.05,
            duplicates: 0.02,
            reorder_window: Duration::from_secs(300),
            late_links: 0.05,
            corrections: 0.01,
            retractions: 0.005,
            malformed: 0.0,
        },
    };
    let sim_config = super::simulate::sim_config(&simulate.scenario)?;
    let history_events = count_history(sim_config.clone(), kouan_model::wall_millis());
    let sim_progress = Arc::new(super::simulate::Progress::default());
    let process_stats = Arc::new(ProcessStats::default());
    let alert_stats = Arc::new(AlertStats::default());
    let process = ProcessConfig {
        brokers: brokers.clone(),
        topics: topics.clone(),
        group: "kouan-up".into(),
        retention: Duration::from_secs(30 * 86_400),
        // nothing outlives the embedded broker (up) or the measured run (latency)
        state_dir: None,
        checkpoint_every: kouan_processor::runner::DEFAULT_CHECKPOINT_EVERY,
    };
    let alert = AlertConfig {
        brokers: brokers.clone(),
        topics: topics.clone(),
        rules: Rules::default(),
        tick: Duration::from_secs(10),
    };

    let brokers_for_api = brokers.clone();
    // one token for every task: the first to fail stops the rest
    let mut tasks = JoinSet::new();
    {
        let (cancel, topics, progress) = (cancel.clone(), topics.clone(), sim_progress.clone());
        tasks.spawn_blocking(move || {
            super::simulate::publish(&brokers, &topics, sim_config, &simulate, &progress, &cancel)
                .context("simulator")
        });
    }
    {
        let (cancel, stats) = (cancel.clone(), process_stats.clone());
        tasks.spawn_blocking(move || {
            kouan_processor::runner::run(&process, &stats, &cancel).context("processor")
        });
    }
    {
        let (cancel, stats) = (cancel.clone(), alert_stats.clone());
        tasks.spawn_blocking(move || {
            kouan_alerter::runner::run(&alert, &stats, &cancel).context("alerter")
        });
    }
    let (auth, demo_tokens) = match &args.auth_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the auth file {}", path.display()))?;
            let auth = kouan_query::Auth::parse(&text)
                .with_context(|| format!("auth file {}", path.display()))?;
            (auth, None)
        }
        None => {
            let (auth, tokens) = demo_auth();
            (auth, Some(tokens))
        }
    };
    let metrics = Arc::new(kouan_query::Metrics::new());
    let served_status = metrics
        .records
        .get_or_create(&kouan_query::metrics::TopicLabels {
            topic: topics.status(),
        })
        .clone();
    metrics
        .registry()
        .register_collector(Box::new(crate::pipeline_metrics::PipelineCollector {
            topics: topics.clone(),
            process: Some(process_stats.clone()),
            alert: Some(alert_stats.clone()),
        }));
    let server = super::serve::start(
        &brokers_for_api,
        &topics,
        &args.serve,
        auth,
        metrics,
        cancel.clone(),
    )
    .await?;
    {
        // pace the simulator by the pipeline's backlog (see `Progress::limit`)
        let (cancel, progress, process, alert) = (
            cancel.clone(),
            sim_progress.clone(),
            process_stats.clone(),
            alert_stats.clone(),
        );
        let served = served_status.clone();
        tasks.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(10));
            while !cancel.is_cancelled() {
                every.tick().await;
                let backlog = Backlog {
                    published: progress.lines.load(Ordering::Relaxed),
                    routed: process.events.load(Ordering::Relaxed)
                        + process.rejected.load(Ordering::Relaxed),
                    applied: process.applied.load(Ordering::Relaxed),
                    statuses: process.published.load(Ordering::Relaxed),
                    statuses_read: alert.records.load(Ordering::Relaxed).min(served.get()),
                };
                progress
                    .limit
                    .store(backlog.published + backlog.headroom(), Ordering::Relaxed);
            }
            Ok(())
        });
    }
    let url = format!("http://{}/", server.local_addr);
    let store = server.state.store.clone();
    tasks.spawn(async move { server.serve().await.context("query service") });
    println!("kouan up: simulator, processor, alerter and API running; Ctrl-C stops");
    println!("kouan up: dashboard and API at {url}");
    if let Some(tokens) = demo_tokens {
        println!(
            "kouan up: demo tokens (paste one into the dashboard, or open {url}#token=TOKEN):"
        );
        for (token, role) in tokens {
            println!("  {token}  {role}");
        }
    }

    // While history is caught up: a progress line every 2 s (events published of the total,
    // processed, status records read by the alerter and the API, time left); then one line
    // saying how long it took; then the 10 s summary.
    let catch_up_started = std::time::Instant::now();
    let mut catching_up = true;
    let mut report = tokio::time::interval(Duration::from_secs(2));
    let mut last_summary = std::time::Instant::now();
    let mut failure = None;
    loop {
        tokio::select! {
            _ = report.tick() => {
                let pipeline = Pipeline {
                    published: sim_progress.lines.load(Ordering::Relaxed),
                    reached_present: sim_progress.reached_present.load(Ordering::Relaxed),
                    history: history_events.get().copied(),
                    processed: process_stats.events.load(Ordering::Relaxed)
                        + process_stats.rejected.load(Ordering::Relaxed),
                    processor_quiet: process_stats.quiet.load(Ordering::Relaxed)
                        && process_stats.router_quiet.load(Ordering::Relaxed),
                    processor_owns: process_stats.live.load(Ordering::Relaxed)
                        && process_stats.owned.load(Ordering::Relaxed) > 0,
                    processor_lag: process_stats.lag.load(Ordering::Relaxed),
                    statuses: process_stats.published.load(Ordering::Relaxed),
                    alerter_read: alert_stats.records.load(Ordering::Relaxed),
                    api_read: served_status.get(),
                    api_catching_up: store.catching_up(),
                };
                let elapsed = catch_up_started.elapsed();
                if catching_up && pipeline.caught_up() {
                    catching_up = false;
                    println!(
                        "kouan up: caught up in {:.1} s: {} events, {} status records, {} alerts firing; following the present",
                        elapsed.as_secs_f64(),
                        pipeline.processed,
                        pipeline.statuses,
                        alert_stats.firing.load(Ordering::Relaxed),
                    );
                } else if catching_up {
                    println!("kouan up: {}", pipeline.progress(elapsed));
                } else if last_summary.elapsed() >= Duration::from_secs(10) {
                    last_summary = std::time::Instant::now();
                    println!(
                        "kouan up: {} events processed, {} status records published, {} alerts firing",
                        process_stats.events.load(Ordering::Relaxed),
                        process_stats.published.load(Ordering::Relaxed),
                        alert_stats.firing.load(Ordering::Relaxed),
                    );
                }
            }
            finished = tasks.join_next() => {
                match finished {
                    Some(Ok(Ok(()))) if cancel.is_cancelled() => {}
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(error))) => {
                        tracing::error!(error = format!("{error:#}"), "task failed, stopping");
                        failure.get_or_insert(error);
                        cancel.cancel();
                    }
                    Some(Err(error)) => {
                        failure.get_or_insert(anyhow::anyhow!("task panicked: {error}"));
                        cancel.cancel();
                    }
                    None => break,
                }
            }
        }
    }
    drop(embedded);
    match failure {
        Some(error) => Err(error),
        None => Ok(0),
    }
}

/// An operator token, one per simulated shipper, and a producer's for the sources of the
/// examples (`examples/`: the yard's EDIFACT and the airline's FSU), random for this run.
fn demo_auth() -> (kouan_query::Auth, Vec<(String, String)>) {
    let mut tokens = vec![(random_token("op"), "operator".to_string())];
    for shipper in kouan_emitter::simulator::network::SHIPPERS {
        tokens.push((random_token("sh"), format!("shipper {shipper}")));
    }
    tokens.push((random_token("pr"), "producer ZZYARD CGOFMCZ".to_string()));
    let text: String = tokens
        .iter()
        .map(|(token, role)| format!("{token} {role}\n"))
        .collect();
    let auth = kouan_query::Auth::parse(&text).expect("generated tokens are valid");
    (auth, tokens)
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 12] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// How many events the simulator delivers between its start and `until`: the size of the
/// history to catch up, counted on a thread of its own (the simulator is deterministic, so a
/// second one with the same configuration delivers the same events).
fn count_history(
    config: kouan_emitter::simulator::SimConfig,
    until: i64,
) -> Arc<std::sync::OnceLock<u64>> {
    let count = Arc::new(std::sync::OnceLock::new());
    let result = count.clone();
    std::thread::spawn(move || {
        let delivered = kouan_emitter::simulator::Simulator::new(config)
            .take_while(|line| line.at_unix_millis <= until)
            .count() as u64;
        let _ = result.set(delivered);
    });
    count
}

/// Where each stage of `kouan up` is while history is caught up.
struct Pipeline {
    published: u64,
    reached_present: bool,
    history: Option<u64>,
    processed: u64,
    processor_quiet: bool,
    /// The shipment stage has been given its partitions (idle before that, with work waiting).
    processor_owns: bool,
    /// Records of its partitions it has not read (reported every 5 s).
    processor_lag: i64,
    statuses: u64,
    alerter_read: u64,
    api_read: u64,
    /// The API's clock (the dashboard's "now") is still far behind the wall clock.
    api_catching_up: bool,
}

impl Pipeline {
    /// Every stage has taken everything: the simulator follows the present, the processor has
    /// routed every event published, owns its partitions, has read them and is idle, and the
    /// alerter and the API have read every status record it committed, and the API's clock is
    /// the present (so the dashboard no longer says "catching up": a status partition whose last
    /// record was stamped while history was read keeps its clock behind until a live record
    /// comes or, quiet, it runs on with the wall clock). (The stage's `applied` count paces the
    /// simulator but does not decide this: a restore applies records uncounted.)
    fn caught_up(&self) -> bool {
        self.reached_present
            && self.processed >= self.published
            && self.processor_owns
            && self.processor_lag == 0
            && self.processor_quiet
            && self.alerter_read >= self.statuses
            && self.api_read >= self.statuses
            && !self.api_catching_up
    }

    /// What [`caught_up`](Self::caught_up) still waits for, in words.
    fn waiting_for(&self) -> Vec<&'static str> {
        [
            (!self.reached_present, "the simulator to reach the present"),
            (self.processed < self.published, "the router"),
            (!self.processor_owns, "the processor to own its partitions"),
            (self.processor_lag != 0, "the processor's lag"),
            (!self.processor_quiet, "the processor to be idle"),
            (self.alerter_read < self.statuses, "the alerter"),
            (self.api_read < self.statuses, "the API"),
            (self.api_catching_up, "the API's clock to reach the present"),
        ]
        .into_iter()
        .filter_map(|(waiting, what)| waiting.then_some(what))
        .collect()
    }

    fn progress(&self, elapsed: Duration) -> String {
        let total = self
            .history
            .map_or("counting".to_string(), |n| n.to_string());
        let left = match self.history {
            Some(total) if self.processed > 0 && total > self.processed => {
                let rate = self.processed as f64 / elapsed.as_secs_f64().max(0.001);
                format!("~{:.0} s left", (total - self.processed) as f64 / rate)
            }
            Some(_) => format!("finishing: waiting for {}", self.waiting_for().join(", ")),
            None => "estimating".to_string(),
        };
        format!(
            "catching up: {} of {} events published, {} processed, {} status records (alerter read {}, API read {}); {}",
            self.published, total, self.processed, self.statuses, self.alerter_read, self.api_read, left
        )
    }
}

/// What the stages behind the simulator have not taken yet.
struct Backlog {
    published: u64,
    routed: u64,
    applied: u64,
    statuses: u64,
    statuses_read: u64,
}

/// Events the pipeline may have in flight: a few MB per partition of the embedded broker.
const EVENT_WINDOW: u64 = 20_000;
/// Status records the alerter and the API may be behind. Above what one processor cycle (up to
/// 20,000 events) commits at once: with 6,000 every commit stopped the simulator until both readers
/// had read it, and the stages ran one after the other instead of together.
const STATUS_WINDOW: u64 = 40_000;

impl Backlog {
    /// How many more events the simulator may publish now.
    fn headroom(&self) -> u64 {
        if self.statuses.saturating_sub(self.statuses_read) >= STATUS_WINDOW {
            return 0;
        }
        let routing = self.published.saturating_sub(self.routed);
        let applying = self.routed.saturating_sub(self.applied);
        EVENT_WINDOW.saturating_sub(routing.max(applying))
    }
}
