//! Who delivers what: every replica follows the whole subscriptions topic (so each knows every
//! subscription), and is a member of the consumer group `<topic>.deliverers` over it, whose
//! assignment of the topic's partitions decides which replica delivers which subscription.

use super::ownership::Watch;
use super::Webhooks;
use crate::error::QueryError;
use kouan_bus::Follower;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;
use rdkafka::Message;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one read of the topic waits: short, so an assignment change is acted on at once.
const POLL: Duration = Duration::from_millis(50);

/// Counts the member's rebalances: after a pause, the first one says the assignment is the
/// group's again ([`Watch`]).
#[derive(Default)]
pub struct Turns {
    rebalances: AtomicU64,
}

impl ClientContext for Turns {}

impl ConsumerContext for Turns {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::SeqCst);
    }
}

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
    let member: BaseConsumer<Turns> = kouan_bus::config::group_member(brokers, &group(topic))
        .create_with_context(Turns::default())
        .map_err(kouan_bus::BusError::from)?;
    let mut watch = Watch::default();
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
        // after the assignment is acted on, never before: a revoked task is stopped first
        let wall = kouan_model::wall_millis();
        let rebalances = member.context().rebalances.load(Ordering::SeqCst);
        if watch.turn(wall, rebalances, member.assignment_lost()) {
            webhooks.ownership.confirm(wall);
        } else {
            webhooks.ownership.withdraw();
        }
    }
    member.unsubscribe();
    Ok(())
}
