//! `kouan process`: the stream processor.

use crate::cli::ProcessArgs;
use anyhow::Context;
use kouan_bus::Topics;
use kouan_processor::runner::{self, ProcessConfig};
use kouan_processor::stats::ProcessStats;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: ProcessArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let brokers = args.brokers.brokers.clone();
    if let Some(dir) = &args.state_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
    }
    kouan_bus::topics::ensure_topics(&brokers, &topics)
        .await
        .context("making sure the topics exist")?;
    let config = ProcessConfig {
        brokers,
        topics,
        group: args.group,
        retention: args.retention,
        state_dir: args.state_dir,
        checkpoint_every: args.checkpoint_every,
    };
    let stats = Arc::new(ProcessStats::default());
    if let Some(listen) = args.metrics_listen {
        let collector = crate::pipeline_metrics::PipelineCollector {
            topics: config.topics.clone(),
            process: Some(stats.clone()),
            alert: None,
        };
        crate::pipeline_metrics::spawn(listen, collector, cancel.clone());
    }
    tokio::task::spawn_blocking(move || runner::run(&config, &stats, &cancel))
        .await
        .context("processor task")??;
    Ok(0)
}
