//! `kouan serve`: the status store and query service.

use crate::cli::{ServeArgs, ServeOptions};
use anyhow::Context;
use kouan_bus::Topics;
use kouan_query::destination::DestinationPolicy;
use kouan_query::ingest::callbacks::Subscriptions;
use kouan_query::runner::IntakeSettings;
use kouan_query::{Auth, HttpLimits, Metrics, ServeConfig, Server, SqlLimits, WebhookLimits};
use kouan_standards::SourceZones;
use std::sync::Arc;
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
    kouan_bus::topics::ensure_topics(&brokers, &topics)
        .await
        .context("making sure the topics exist")?;
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
            max_concurrent: options.sql_max_concurrent.max(1),
        },
        webhooks: WebhookLimits {
            destinations: Arc::new(
                DestinationPolicy::new(&options.webhook_allow).map_err(anyhow::Error::msg)?,
            ),
            per_shipper: options.max_subscriptions_per_shipper,
            pause_after: options.webhook_pause_after,
        },
        http: HttpLimits {
            max_feed_clients: options.max_feed_clients,
            protect_metrics: options.protect_metrics,
            header_read_timeout: options.header_read_timeout,
            max_connections: options.max_connections,
        },
        state_dir: options.state_dir.clone(),
        checkpoint_every: options.checkpoint_every,
        intake: intake_settings(options)?,
    };
    Server::start(config, auth, metrics, cancel)
        .await
        .context("starting the query service")
}

/// The intake's zones and subscriptions, from the files the options name.
fn intake_settings(options: &ServeOptions) -> anyhow::Result<IntakeSettings> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let zones = match &options.source_zones {
        Some(path) => SourceZones::parse(&read(path)?)
            .with_context(|| format!("--source-zones {}", path.display()))?,
        None => SourceZones::default(),
    };
    let subscriptions = match &options.dcsa_subscriptions {
        Some(path) => Subscriptions::parse(&read(path)?)
            .with_context(|| format!("--dcsa-subscriptions {}", path.display()))?,
        None => Subscriptions::default(),
    };
    Ok(IntakeSettings {
        zones,
        subscriptions,
        max_body_bytes: options.intake_max_bytes.max(1024),
    })
}
