//! `kouan serve`: the status store and query service.

use crate::cli::{ServeArgs, ServeOptions};
use anyhow::Context;
use kouan_bus::topics::{create_topics, TopicSpec};
use kouan_bus::Topics;
use kouan_query::{Auth, Metrics, ServeConfig, Server, SqlLimits};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: ServeArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&args.auth_file)
        .with_context(|| format!("reading the auth file {}", args.auth_file.display()))?;
    let auth =
        Auth::parse(&text).with_context(|| format!("auth file {}", args.auth_file.display()))?;
    let brokers = args.brokers.brokers;
    super::process::ensure_topics(&brokers, &topics).await?;
    ensure_subscriptions_topic(&brokers, &topics).await?;
    let server = start(
        &brokers,
        &topics,
        &args.options,
        auth,
        Arc::new(Metrics::new()),
        cancel,
    )
    .await?;
    println!("kouan serve: http://{}/", server.local_addr);
    server.serve().await.context("query service")?;
    Ok(0)
}

pub async fn ensure_subscriptions_topic(brokers: &str, topics: &Topics) -> anyhow::Result<()> {
    let spec = TopicSpec {
        name: kouan_query::runner::subscriptions_topic(topics),
        compacted: true,
    };
    create_topics(brokers, &[spec], 1, 1)
        .await
        .context("making sure the subscriptions topic exists")
}

pub async fn start(
    brokers: &str,
    topics: &Topics,
    options: &ServeOptions,
    auth: Auth,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> anyhow::Result<Server> {
    kouan_query::install_crypto();
    let config = ServeConfig {
        brokers: brokers.to_string(),
        topics: topics.clone(),
        listen: options.listen,
        feed_window: options.feed_window,
        sql: SqlLimits {
            max_rows: options.sql_max_rows.max(1),
            timeout: options.sql_timeout,
            memory: options.sql_memory_mib.max(16) << 20,
        },
        idle: Duration::from_millis(1500),
    };
    Server::start(config, auth, metrics, cancel)
        .await
        .context("starting the query service")
}
