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

    let start = kouan_alerter::runner::now_millis() - args.history.as_millis() as i64;
    let start = kouan_model::Timestamp::from_parts(start.div_euclid(1000), 0, 8 * 3600)
        .expect("now is in range");
    let simulate = SimulateArgs {
        brokers: Some(brokers.clone()),
        rate: args.rate,
        duration: Duration::ZERO,
        out: None,
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
    let process_stats = Arc::new(ProcessStats::default());
    let alert_stats = Arc::new(AlertStats::default());
    let process = ProcessConfig {
        brokers: brokers.clone(),
        topics: topics.clone(),
        group: "kouan-up".into(),
        retention: Duration::from_secs(30 * 86_400),
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
        let (cancel, topics) = (cancel.clone(), topics.clone());
        tasks.spawn_blocking(move || {
            super::simulate::publish(&brokers, &topics, sim_config, &simulate, &cancel)
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
    let url = format!("http://{}/", server.local_addr);
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

    let mut report = tokio::time::interval(Duration::from_secs(10));
    let mut failure = None;
    loop {
        tokio::select! {
            _ = report.tick() => {
                println!(
                    "kouan up: {} events processed, {} status records published, {} alerts firing",
                    process_stats.events.load(Ordering::Relaxed),
                    process_stats.published.load(Ordering::Relaxed),
                    alert_stats.firing.load(Ordering::Relaxed),
                );
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

/// An operator token and one per simulated shipper, random for this run.
fn demo_auth() -> (kouan_query::Auth, Vec<(String, String)>) {
    let mut tokens = vec![(random_token("op"), "operator".to_string())];
    for shipper in kouan_emitter::simulator::network::SHIPPERS {
        tokens.push((random_token("sh"), format!("shipper {shipper}")));
    }
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
