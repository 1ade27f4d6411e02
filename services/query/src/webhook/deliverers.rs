//! Who delivers what: every replica follows the whole subscriptions topic (so each knows every
//! subscription), and is a member of the consumer group `<topic>.deliverers` over it, whose
//! assignment of the topic's partitions decides which replica delivers which subscription.

use super::Webhooks;
use crate::error::QueryError;
use kouan_bus::Follower;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one read of the topic waits: short, so an assignment change is acted on at once.
const POLL: Duration = Duration::from_millis(50);

/// The group whose members deliver the subscriptions on `topic`.
pub fn group(topic: &str) -> String {
    format!("{topic}.deliverers")
}

/// Reads the subscriptions topic to its end (what exists, how far each was delivered): run
/// before the replica serves, so lists and quotas are complete from the first request.
pub fn load(
    webhooks: &Arc<Webhooks>,
    brokers: &str,
    topic: &str,
    cancel: &CancellationToken,
) -> Result<Follower, QueryError> {
    let mut follower = Follower::from_beginning(
        brokers,
        &format!("kouan-serve-subscriptions-{}", std::process::id()),
        &[topic.to_string()],
        cancel,
    )?;
    follower.catch_up(cancel, |message| {
        if let Some(key) = message.key() {
            webhooks.apply_record(key, message.payload());
        }
    })?;
    Ok(follower)
}

/// Follows the topic on and takes part in the group until cancelled: every record is applied
/// (created, deleted, progress), and every change of this member's assignment starts and stops
/// deliveries. On a clean stop the member leaves the group, so another takes over at once.
pub fn follow(
    webhooks: Arc<Webhooks>,
    mut follower: Follower,
    brokers: &str,
    topic: &str,
    cancel: &CancellationToken,
) -> Result<(), QueryError> {
    let partitions = kouan_bus::reader::partitions(follower.reader(), topic)?;
    let member: BaseConsumer = kouan_bus::config::group_member(brokers, &group(topic))
        .create()
        .map_err(kouan_bus::BusError::from)?;
    member
        .subscribe(&[topic])
        .map_err(kouan_bus::BusError::from)?;
    let mut assigned: Option<BTreeSet<i32>> = None;
    while !cancel.is_cancelled() {
        if let Some(message) = follower.poll(POLL) {
            if let Some(key) = message.key() {
                webhooks.apply_record(key, message.payload());
            }
        }
        // the member's records are not needed (the follower reads them all); polling keeps it
        // in the group and runs its rebalances
        while let Some(result) = member.poll(Duration::ZERO) {
            if let Err(error) = result {
                tracing::warn!(%error, "webhook deliverers group");
                break;
            }
        }
        let now: BTreeSet<i32> = match member.assignment() {
            Ok(list) => list
                .elements_for_topic(topic)
                .iter()
                .map(|element| element.partition())
                .collect(),
            Err(_) => continue,
        };
        if assigned.as_ref() != Some(&now) {
            webhooks.set_assignment(now.clone(), partitions);
            assigned = Some(now);
        }
    }
    member.unsubscribe();
    Ok(())
}
