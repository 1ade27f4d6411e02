//! `kouan replay-dead-letters`: late events offered to the pipeline again.

use crate::cli::Brokers;
use anyhow::Context;
use clap::Args;
use kouan_bus::Topics;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Which dead letters: those whose reason starts with this. The default takes the events of
    /// conveyances nothing reached before the horizon; `late:` takes every late event (a
    /// forgotten shipment's comes back as a dead letter: forgetting is for good).
    #[arg(long, default_value = "late: conveyance")]
    pub reason: String,
}

pub async fn run(
    args: ReplayArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let brokers = args.brokers.brokers;
    let prefix = args.reason;
    let summary = tokio::task::spawn_blocking(move || {
        kouan_emitter::replay::replay(&brokers, &topics, &prefix, &cancel)
    })
    .await
    .context("replay task")?
    .context("replaying dead letters")?;
    eprintln!(
        "replay-dead-letters: {} dead letters read, {} events offered again, {} not events",
        summary.read, summary.offered, summary.not_events
    );
    Ok(0)
}
