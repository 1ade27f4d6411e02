//! `kouan up`: everything in one process for a first look.

use crate::cli::{ScenarioArgs, SimulateArgs, UpArgs};
use anyhow::Context;
use kouan_alerter::runner::{AlertConfig, AlertStats};
use kouan_alerter::Rules;
use kouan_bus::topics::TopicSpec;
use kouan_bus::{EmbeddedBroker, Topics};
use kouan_processor::runner::{ProcessConfig, ProcessStats};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub async fn run(args: UpArgs, topics: Topics, cancel: CancellationToken) -> anyhow::Result<i32> {
    let mut embedded = None;
    let brokers = match &args.brokers {
        Some(brokers) => {
            super::process::ensure_topics(brokers, &topics).await?;
            brokers.clone()
        }
        None => {
            let mut specs = topics.public_specs();
            specs.push(TopicSpec {
                name: kouan_processor::runner::members_topic(&topics),
                compacted: false,
            });
            let broker = EmbeddedBroker::start(&specs, super::ingest::DEFAULT_PARTITIONS)
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
        idle: Duration::from_millis(1500),
    };
    let alert = AlertConfig {
        brokers: brokers.clone(),
        topics: topics.clone(),
        rules: Rules::default(),
        tick: Duration::from_secs(10),
        idle: Duration::from_millis(1500),
    };

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
    println!("kouan up: simulator, processor and alerter running; Ctrl-C stops");

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
