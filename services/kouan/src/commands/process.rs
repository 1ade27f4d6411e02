//! `kouan process`: the stream processor.

use crate::cli::ProcessArgs;
use anyhow::Context;
use kouan_bus::topics::{create_topics, TopicSpec};
use kouan_bus::Topics;
use kouan_processor::runner::{self, ProcessConfig, ProcessStats};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: ProcessArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let brokers = args.brokers.brokers.clone();
    ensure_topics(&brokers, &topics).await?;
    let config = ProcessConfig {
        brokers,
        topics,
        group: args.group,
        retention: args.retention,
        idle: Duration::from_millis(1500),
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

/// The public topics (4 partitions when new) and the members topic.
pub async fn ensure_topics(brokers: &str, topics: &Topics) -> anyhow::Result<()> {
    create_topics(
        brokers,
        &topics.public_specs(),
        super::ingest::DEFAULT_PARTITIONS,
        1,
    )
    .await
    .context("making sure the topics exist")?;
    let members = TopicSpec {
        name: runner::members_topic(topics),
        compacted: false,
    };
    create_topics(brokers, &[members], 1, 1)
        .await
        .context("making sure the members topic exists")?;
    Ok(())
}
