//! `kouan topics create`.

use crate::cli::TopicsCreateArgs;
use anyhow::Context;
use kouan_bus::Topics;

pub async fn create(args: &TopicsCreateArgs, topics: &Topics) -> anyhow::Result<i32> {
    let specs = topics.all_specs(args.event_retention);
    kouan_bus::topics::create_topics(
        &args.brokers.brokers,
        &specs,
        args.partitions,
        args.replication_factor,
    )
    .await
    .context("creating topics")?;
    for spec in &specs {
        println!("{}", spec.name);
    }
    Ok(0)
}
