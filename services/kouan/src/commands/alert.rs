//! `kouan alert`: the alerter.

use crate::cli::AlertArgs;
use anyhow::Context;
use kouan_alerter::runner::{self, AlertConfig, AlertStats};
use kouan_alerter::Rules;
use kouan_bus::Topics;
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: AlertArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let rules = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Rules::from_json(&text).with_context(|| format!("rules in {}", path.display()))?
        }
        None => Rules::default(),
    };
    kouan_bus::topics::ensure_topics(&args.brokers.brokers, &topics).await?;
    let config = AlertConfig {
        brokers: args.brokers.brokers.clone(),
        topics,
        rules,
        tick: args.tick,
    };
    let stats = std::sync::Arc::new(AlertStats::default());
    if let Some(listen) = args.metrics_listen {
        let collector = crate::pipeline_metrics::PipelineCollector {
            topics: config.topics.clone(),
            process: None,
            alert: Some(stats.clone()),
        };
        crate::pipeline_metrics::spawn(listen, collector, cancel.clone());
    }
    tokio::task::spawn_blocking(move || runner::run(&config, &stats, &cancel))
        .await
        .context("alerter task")??;
    Ok(0)
}
