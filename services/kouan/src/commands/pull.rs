//! `kouan pull dcsa`: a carrier's DCSA events polled into kouan.

use crate::cli::PullDcsaArgs;
use anyhow::Context;
use kouan_bus::Topics;
use kouan_emitter::pull::{self, PullConfig};
use tokio_util::sync::CancellationToken;

pub async fn dcsa(
    args: PullDcsaArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    kouan_query::install_crypto();
    kouan_bus::topics::ensure_topics(&args.brokers.brokers, &topics)
        .await
        .context("making sure the topics exist")?;
    let config = PullConfig {
        name: args.name.clone().unwrap_or_else(|| args.source.clone()),
        url: args.url,
        token: args.token,
        source: args.source,
        limit: args.limit.max(1),
        every: args.every,
        once: args.once,
    };
    let brokers = args.brokers.brokers;
    let summary =
        tokio::task::spawn_blocking(move || pull::run(&brokers, &topics, &config, &cancel))
            .await
            .context("pull task")?
            .context("pulling DCSA events")?;
    eprintln!(
        "pull: {} taken, {} rejected, {} pages",
        summary.taken, summary.rejected, summary.pages
    );
    Ok(i32::from(summary.rejected > 0))
}
