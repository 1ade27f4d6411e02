//! Webhooks, DCSA-style: a subscription names a callback URL, a secret and filters; every status
//! change it may see is POSTed to the callback as part of a JSON array, signed with
//! `Notification-Signature: sha256=<hex HMAC-SHA256 of the raw body>` and tagged with
//! `Subscription-ID`. A failed POST (no answer or a non-2xx status) is retried with exponential
//! backoff, the same batch again, so changes reach the receiver in order and none is skipped.
//!
//! Subscriptions live on the compacted topic `<ns>.internal.subscriptions`: key `ID` holds the
//! subscription as created (JSON; a tombstone deletes it), key `ID/progress` how far it has been
//! delivered and whether it is paused. Every `serve` replica follows the whole topic, so a
//! subscription created, deleted or resumed on any replica shows on every one within moments,
//! and the per-shipper quota counts them all. Exactly one replica delivers each subscription:
//! the replicas are members of one consumer group over the topic (`<topic>.deliverers`), and
//! the member assigned the partition of a subscription's id (Kafka's default partitioner) delivers
//! it — Kafka, not kouan, decides, and a replica that dies (kill -9) loses its partitions when its
//! 6 s session expires; the replica that gets them resumes from the recorded progress, in order,
//! nothing skipped (at least once: a batch whose progress was not yet recorded is sent again).
//! Only the deliverer writes progress; a progress record of a deleted subscription is ignored.
//!
//! Decisions: a new subscription starts at the present, not with history; it sees what its
//! creator may see; only `status` changes are delivered (alerts go to the feed and the API).
//!
//! Three kinds of subscription share all of this: kouan's own (`/v1/subscriptions`, status
//! records), DCSA's (`/dcsa/tnt/v2/event-subscriptions`: the DCSA events each change adds, signed
//! with the decoded base64 secret, with `API-Version`) and ONE Record's (`/onerecord`: one
//! `api:Notification` per POST as `application/ld+json`, unsigned — ONE Record authenticates at
//! the transport).
//!
//! Limits ([`WebhookLimits`]): the callback must be a destination [`crate::destination`] allows
//! (checked at creation and at every connection); the URL, the secret and each filter are at most
//! [`MAX_FIELD_BYTES`]; a shipper has at most `per_shipper` subscriptions (an operator is not
//! limited); a destination that has failed every attempt for `pause_after` is paused — delivery
//! stops, the subscription shows `"state": "PAUSED"` with the last failure, and its owner resumes
//! it (`POST /v1/subscriptions/{id}/resume`) once the receiver is back, from where it stopped.
//!
//! - [`subscription`]: what a subscription is: callback, secret, filters, owner, progress.
//! - [`create`]: creating, reading and changing subscriptions, the checks they pass.
//! - [`delivery`]: the task per subscription: batches, signatures, retries, pausing.
//! - [`deliverers`]: following the topic and the group that decides who delivers what.

mod create;
pub mod deliverers;
mod delivery;
pub mod ownership;
mod subscription;

pub use subscription::{
    signature, Filters, NewSubscription, OneRecordTopic, Paused, Progress, Subscription,
};

use crate::auth::Caller;
use crate::destination::{DestinationPolicy, GuardedResolver};
use crate::error::QueryError;
use crate::store::Store;
use kouan_bus::Publisher;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Changes per POST at most.
pub const BATCH: usize = 100;
/// Longest callback URL, secret and filter value, in bytes.
pub const MAX_FIELD_BYTES: usize = 1024;

/// What webhooks may do.
#[derive(Debug, Clone)]
pub struct WebhookLimits {
    pub destinations: Arc<DestinationPolicy>,
    /// Subscriptions one shipper may hold.
    pub per_shipper: usize,
    /// How long a destination may fail every attempt before its subscription is paused.
    pub pause_after: Duration,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        WebhookLimits {
            destinations: Arc::new(DestinationPolicy::default()),
            per_shipper: 20,
            pause_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// The key of a subscription's progress record.
pub fn progress_key(id: &str) -> String {
    format!("{id}/progress")
}

/// Which partitions of the subscriptions topic this replica's group member holds.
#[derive(Debug, Clone, Default)]
struct Assignment {
    partitions: std::collections::BTreeSet<i32>,
    of: i32,
}

/// Every subscription on the topic, and the delivery tasks of the ones this replica delivers.
pub struct Webhooks {
    store: Arc<Store>,
    runtime: tokio::runtime::Handle,
    known: parking_lot::Mutex<BTreeMap<String, Subscription>>,
    /// Progress records read before their subscription's record.
    early_progress: parking_lot::Mutex<BTreeMap<String, Progress>>,
    /// `None` until the group has assigned partitions (nothing is delivered before).
    assignment: parking_lot::Mutex<Option<Assignment>>,
    /// `None` only in benchmarks without a broker: subscriptions cannot be created there.
    publisher: Option<Arc<Publisher>>,
    topic: String,
    client: reqwest::Client,
    /// Delivery tasks by subscription id.
    running: parking_lot::Mutex<BTreeMap<String, CancellationToken>>,
    /// The same tasks, to be awaited at shutdown: a batch the receiver accepted as the stop came
    /// has its progress recorded before the last flush, or a restart would send it again.
    tasks: parking_lot::Mutex<tokio::task::JoinSet<()>>,
    cancel: CancellationToken,
    deliveries: prometheus_client::metrics::family::Family<
        crate::metrics::ResultLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    /// First and longest pause between retries.
    backoff: (Duration, Duration),
    limits: WebhookLimits,
    /// Whether the group still has this replica deliver what it was assigned (after a pause).
    pub ownership: ownership::Ownership,
}

impl Webhooks {
    pub fn new(
        store: Arc<Store>,
        publisher: Option<Arc<Publisher>>,
        topic: String,
        cancel: CancellationToken,
        metrics: &crate::metrics::Metrics,
        limits: WebhookLimits,
    ) -> Self {
        // no redirects and no proxies: either would reach an address the policy never saw
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(limits.destinations.clone())))
            .build()
            .expect("an HTTP client");
        Self {
            store,
            runtime: tokio::runtime::Handle::current(),
            tasks: Default::default(),
            known: Default::default(),
            early_progress: Default::default(),
            assignment: Default::default(),
            publisher,
            topic,
            client,
            running: Default::default(),
            cancel,
            deliveries: metrics.webhook_deliveries.clone(),
            backoff: (Duration::from_millis(250), Duration::from_secs(60)),
            limits,
            ownership: Default::default(),
        }
    }

    /// A record of the subscriptions topic, read by [`deliverers`]: a subscription created or
    /// deleted, or its progress.
    pub fn apply_record(self: &Arc<Self>, key: &[u8], payload: Option<&[u8]>) {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        if let Some(id) = key.strip_suffix("/progress") {
            let progress = payload.and_then(|p| serde_json::from_slice::<Progress>(p).ok());
            {
                let mut known = self.known.lock();
                match (progress, known.get_mut(id)) {
                    (Some(progress), Some(subscription)) => {
                        subscription.cursor = progress.cursor;
                        subscription.paused = progress.paused;
                    }
                    // the two keys may sit in different partitions: progress can be read first
                    (Some(progress), None) => {
                        self.early_progress.lock().insert(id.to_string(), progress);
                    }
                    (None, _) => {
                        self.early_progress.lock().remove(id);
                    }
                }
            }
            self.reconcile(id);
            return;
        }
        match payload.and_then(|p| serde_json::from_slice::<Subscription>(p).ok()) {
            Some(mut subscription) => {
                // progress read before (or recorded here) is newer than the creation's cursor
                if let Some(progress) = self.early_progress.lock().remove(key) {
                    subscription.cursor = progress.cursor;
                    subscription.paused = progress.paused;
                }
                let changed = self
                    .known
                    .lock()
                    .get(key)
                    .is_some_and(|known| !known.same_terms(&subscription));
                if changed {
                    self.replace_known(subscription);
                } else {
                    self.known
                        .lock()
                        .entry(key.to_string())
                        .or_insert(subscription);
                    self.reconcile(key);
                }
            }
            None => {
                let was_delivered_here = self.running.lock().contains_key(key);
                self.known.lock().remove(key);
                self.reconcile(key);
                if was_delivered_here {
                    // its deliverer clears its progress (the task is stopped: nothing follows)
                    if let Some(publisher) = &self.publisher {
                        let _ = publisher.send_tombstone(&self.topic, progress_key(key).as_bytes());
                    }
                }
            }
        }
    }

    /// The group assigned this replica `partitions` of the `of` partitions of the topic: it
    /// delivers the subscriptions whose ids fall in them, and stops the others.
    pub fn set_assignment(self: &Arc<Self>, partitions: std::collections::BTreeSet<i32>, of: i32) {
        tracing::info!(?partitions, of, "webhook deliveries assigned");
        *self.assignment.lock() = Some(Assignment { partitions, of });
        let ids: Vec<String> = self
            .known
            .lock()
            .keys()
            .chain(self.running.lock().keys())
            .cloned()
            .collect();
        for id in ids {
            self.reconcile(&id);
        }
    }

    /// Whether this replica delivers subscription `id`.
    fn delivers(&self, id: &str) -> bool {
        self.assignment.lock().as_ref().is_some_and(|assignment| {
            assignment.of > 0
                && assignment
                    .partitions
                    .contains(&kouan_bus::partitioner::partition_of(
                        id.as_bytes(),
                        assignment.of,
                    ))
        })
    }

    /// Starts or stops the delivery of `id` to match what is known and assigned: delivered here
    /// when it exists, is not paused and its partition is this replica's.
    fn reconcile(self: &Arc<Self>, id: &str) {
        let wanted = self
            .known
            .lock()
            .get(id)
            .filter(|s| s.paused.is_none() && self.delivers(id))
            .cloned();
        let mut running = self.running.lock();
        match wanted {
            Some(subscription) if !running.contains_key(id) => {
                let stop = self.cancel.child_token();
                running.insert(id.to_string(), stop.clone());
                let webhooks = self.clone();
                let mut tasks = self.tasks.lock();
                // the ended ones' results are of no use: let them go
                while tasks.try_join_next().is_some() {}
                tasks.spawn_on(
                    async move { webhooks.deliver(subscription, stop).await },
                    &self.runtime,
                );
            }
            Some(_) => {}
            None => {
                if let Some(stop) = running.remove(id) {
                    stop.cancel();
                }
            }
        }
    }

    /// How many subscriptions exist (`is_empty`: none).
    pub fn len(&self) -> usize {
        self.known.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Subscriptions `caller` may see: an operator all, a shipper its own.
    pub fn list(&self, caller: &Caller) -> Vec<Subscription> {
        self.known
            .lock()
            .values()
            .filter(|s| caller.is_operator() || s.shipper.as_deref() == caller.shipper())
            .cloned()
            .collect()
    }

    /// Resumes a paused subscription `caller` may see, from where its delivery stopped; `None`
    /// when there is none. A subscription that is not paused is left as it is.
    pub fn resume_paused(
        self: &Arc<Self>,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<Subscription>, QueryError> {
        let found = self.known.lock().get(id).cloned();
        let Some(mut subscription) =
            found.filter(|s| caller.is_operator() || s.shipper.as_deref() == caller.shipper())
        else {
            return Ok(None);
        };
        if subscription.paused.take().is_some() {
            // the deliverer, wherever it is, resumes when it reads this
            self.persist_progress(&subscription)?;
            if let Some(known) = self.known.lock().get_mut(id) {
                known.paused = None;
            }
            self.reconcile(id);
        }
        Ok(Some(subscription))
    }

    /// Deletes a subscription `caller` may see; false when there is none. Every replica stops
    /// showing it when it reads the tombstone; its deliverer stops delivering.
    pub fn delete(self: &Arc<Self>, caller: &Caller, id: &str) -> Result<bool, QueryError> {
        let visible = self
            .known
            .lock()
            .get(id)
            .is_some_and(|s| caller.is_operator() || s.shipper.as_deref() == caller.shipper());
        if !visible {
            return Ok(false);
        }
        if let Some(publisher) = &self.publisher {
            publisher.send_tombstone(&self.topic, id.as_bytes())?;
        }
        self.known.lock().remove(id);
        self.reconcile(id);
        Ok(true)
    }

    fn publisher(&self) -> Result<&Publisher, QueryError> {
        self.publisher.as_deref().ok_or_else(|| {
            QueryError::bad("subscriptions", "this server has no broker to keep them")
        })
    }

    /// Writes a new subscription.
    fn persist(&self, subscription: &Subscription) -> Result<(), QueryError> {
        let value = serde_json::to_vec(subscription).expect("subscriptions serialize");
        self.publisher()?
            .send(&self.topic, Some(subscription.id.as_bytes()), &value, None)?;
        Ok(())
    }

    /// Writes how far a subscription has been delivered and whether it is paused.
    fn persist_progress(&self, subscription: &Subscription) -> Result<(), QueryError> {
        let progress = Progress {
            cursor: subscription.cursor.clone(),
            paused: subscription.paused.clone(),
        };
        let value = serde_json::to_vec(&progress).expect("progress serializes");
        let key = progress_key(&subscription.id);
        self.publisher()?
            .send(&self.topic, Some(key.as_bytes()), &value, None)?;
        Ok(())
    }

    /// At shutdown, once the process's token is cancelled: waits (at most `bound`) for the
    /// delivery tasks to end — each records the progress of a batch its receiver accepted as the
    /// stop came — then until every subscription change has reached the broker.
    pub async fn finish(&self, bound: Duration) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock());
        let ended =
            tokio::time::timeout(bound, async { while tasks.join_next().await.is_some() {} }).await;
        if ended.is_err() {
            tracing::warn!(
                left = tasks.len(),
                "webhook deliveries still running at shutdown"
            );
        }
        self.flush();
    }

    /// Waits until every subscription change has reached the broker.
    pub fn flush(&self) {
        if let Some(publisher) = &self.publisher {
            if let Err(error) = publisher.flush(Duration::from_secs(10)) {
                tracing::warn!(%error, "subscriptions not all written at shutdown");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
