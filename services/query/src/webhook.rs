//! Webhooks, DCSA-style: a subscription names a callback URL, a secret and filters; every status
//! change it may see is POSTed to the callback as part of a JSON array, signed with
//! `Notification-Signature: sha256=<hex HMAC-SHA256 of the raw body>` and tagged with
//! `Subscription-ID`. A failed POST (no answer or a non-2xx status) is retried with exponential
//! backoff, the same batch again, so changes reach the receiver in order and none is skipped.
//!
//! Subscriptions, with how far each has been delivered, live on the compacted topic
//! `<ns>.internal.subscriptions` (key: subscription id, value: JSON; a tombstone deletes), so
//! they survive a restart and delivery resumes where it stopped (at least once: a batch whose
//! success was not yet recorded is sent again).
//!
//! Decisions: a new subscription starts at the present, not with history; it sees what its
//! creator may see; only `status` changes are delivered (alerts go to the feed and the API).
//!
//! Limits ([`WebhookLimits`]): the callback must be a destination [`crate::destination`] allows
//! (checked at creation and at every connection); the URL, the secret and each filter are at most
//! [`MAX_FIELD_BYTES`]; a shipper has at most `per_shipper` subscriptions (an operator is not
//! limited); a destination that has failed every attempt for `pause_after` is paused — delivery
//! stops, the subscription shows `"state": "PAUSED"` with the last failure, and its owner resumes
//! it (`POST /v1/subscriptions/{id}/resume`) once the receiver is back, from where it stopped.
//!
//! - [`subscription`]: what a subscription is: callback, secret, filters, owner, progress.
//! - [`delivery`]: the task per subscription: batches, signatures, retries, pausing.

mod delivery;
mod subscription;

pub use subscription::{signature, Filters, NewSubscription, Paused, Subscription};

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

struct Running {
    subscription: Subscription,
    stop: CancellationToken,
}

/// The live subscriptions and their delivery tasks.
pub struct Webhooks {
    store: Arc<Store>,
    /// `None` only in benchmarks without a broker: subscriptions cannot be created there.
    publisher: Option<Arc<Publisher>>,
    topic: String,
    client: reqwest::Client,
    running: parking_lot::Mutex<BTreeMap<String, Running>>,
    cancel: CancellationToken,
    deliveries: prometheus_client::metrics::family::Family<
        crate::metrics::ResultLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    /// First and longest pause between retries.
    backoff: (Duration, Duration),
    limits: WebhookLimits,
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
            publisher,
            topic,
            client,
            running: Default::default(),
            cancel,
            deliveries: metrics.webhook_deliveries.clone(),
            backoff: (Duration::from_millis(250), Duration::from_secs(60)),
            limits,
        }
    }

    /// Subscriptions read back from the topic at start-up; their delivery resumes.
    pub fn resume(self: &Arc<Self>, subscriptions: Vec<Subscription>) {
        for subscription in subscriptions {
            self.start(subscription);
        }
    }

    /// Validates and creates a subscription starting at the present.
    pub async fn create(
        self: &Arc<Self>,
        caller: &Caller,
        request: NewSubscription,
    ) -> Result<Subscription, QueryError> {
        let too_long =
            |field: &str| QueryError::bad(field, format!("is longer than {MAX_FIELD_BYTES} bytes"));
        if request.callback_url.len() > MAX_FIELD_BYTES {
            return Err(too_long("callbackUrl"));
        }
        if request.secret.len() > MAX_FIELD_BYTES {
            return Err(too_long("secret"));
        }
        let url = reqwest::Url::parse(&request.callback_url)
            .map_err(|e| QueryError::bad("callbackUrl", format!("is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(QueryError::bad(
                "callbackUrl",
                "must be an http or https URL with a host",
            ));
        }
        if request.secret.len() < 16 {
            return Err(QueryError::bad("secret", "must be at least 16 characters"));
        }
        self.limits
            .destinations
            .check(&url)
            .await
            .map_err(|reason| QueryError::bad("callbackUrl", reason))?;
        request.filters.check()?;
        if let (Some(own), Some(asked)) = (caller.shipper(), &request.filters.shipper) {
            if own != asked {
                return Err(QueryError::bad(
                    "filters.shipper",
                    "a shipper can only subscribe to its own shipments",
                ));
            }
        }
        if let Some(shipper) = caller.shipper() {
            let held = self
                .running
                .lock()
                .values()
                .filter(|r| r.subscription.shipper.as_deref() == Some(shipper))
                .count();
            if held >= self.limits.per_shipper {
                return Err(QueryError::Quota(format!(
                    "subscriptions: a shipper may hold at most {} (delete one first)",
                    self.limits.per_shipper
                )));
            }
        }
        let subscription = Subscription {
            id: format!("sub-{:032x}", rand::random::<u128>()),
            callback_url: request.callback_url,
            secret: request.secret,
            filters: request.filters,
            shipper: caller.shipper().map(str::to_string),
            owner: caller.name.to_string(),
            created_at: kouan_model::Timestamp::from_parts(crate::now_millis() / 1000, 0, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            cursor: self.store.position().encode(),
            paused: None,
        };
        self.persist(&subscription)?;
        self.start(subscription.clone());
        Ok(subscription)
    }

    /// Subscriptions `caller` may see: an operator all, a shipper its own.
    pub fn list(&self, caller: &Caller) -> Vec<Subscription> {
        self.running
            .lock()
            .values()
            .map(|r| r.subscription.clone())
            .filter(|s| caller.is_operator() || s.shipper.as_deref() == caller.shipper())
            .collect()
    }

    /// Resumes a paused subscription `caller` may see, from where its delivery stopped; `None`
    /// when there is none. A subscription that is not paused is left as it is.
    pub fn resume_paused(
        self: &Arc<Self>,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<Subscription>, QueryError> {
        let found = self.running.lock().get(id).map(|r| r.subscription.clone());
        let Some(mut subscription) =
            found.filter(|s| caller.is_operator() || s.shipper.as_deref() == caller.shipper())
        else {
            return Ok(None);
        };
        if subscription.paused.take().is_some() {
            self.persist(&subscription)?;
            self.start(subscription.clone());
        }
        Ok(Some(subscription))
    }

    /// Deletes a subscription `caller` may see; false when there is none.
    pub fn delete(&self, caller: &Caller, id: &str) -> Result<bool, QueryError> {
        let mut running = self.running.lock();
        let Some(found) = running.get(id) else {
            return Ok(false);
        };
        if !caller.is_operator() && found.subscription.shipper.as_deref() != caller.shipper() {
            return Ok(false);
        }
        if let Some(publisher) = &self.publisher {
            publisher.send_tombstone(&self.topic, id.as_bytes())?;
        }
        let removed = running.remove(id).expect("present");
        removed.stop.cancel();
        Ok(true)
    }

    fn persist(&self, subscription: &Subscription) -> Result<(), QueryError> {
        let Some(publisher) = &self.publisher else {
            return Err(QueryError::bad(
                "subscriptions",
                "this server has no broker to keep them",
            ));
        };
        let value = serde_json::to_vec(subscription).expect("subscriptions serialize");
        publisher.send(&self.topic, Some(subscription.id.as_bytes()), &value, None)?;
        Ok(())
    }

    /// Waits until every subscription change has reached the broker (at shutdown).
    pub fn flush(&self) {
        if let Some(publisher) = &self.publisher {
            if let Err(error) = publisher.flush(Duration::from_secs(10)) {
                tracing::warn!(%error, "subscriptions not all written at shutdown");
            }
        }
    }

    fn start(self: &Arc<Self>, subscription: Subscription) {
        let stop = self.cancel.child_token();
        let previous = self.running.lock().insert(
            subscription.id.clone(),
            Running {
                subscription: subscription.clone(),
                stop: stop.clone(),
            },
        );
        if let Some(previous) = previous {
            previous.stop.cancel();
        }
        if subscription.paused.is_some() {
            return;
        }
        let webhooks = self.clone();
        tokio::spawn(async move { webhooks.deliver(subscription, stop).await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
