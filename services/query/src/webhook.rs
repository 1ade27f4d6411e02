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
//! stops, the subscription shows `"state": "PAUSED"` with the last failure, and its owner deletes
//! and recreates it once the receiver is back.

use crate::auth::{Caller, Role};
use crate::destination::{DestinationPolicy, GuardedResolver};
use crate::error::QueryError;
use crate::position::Position;
use crate::store::{ChangeKind, Store};
use hmac::{Hmac, Mac};
use kouan_bus::Publisher;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
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

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipper: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customs_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

impl Filters {
    fn check(&self) -> Result<(), QueryError> {
        use kouan_model::{CustomsState, ShipmentMode, TransportStage};
        for (field, value) in [
            ("filters.shipmentId", &self.shipment_id),
            ("filters.shipper", &self.shipper),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_FIELD_BYTES) {
                return Err(QueryError::bad(
                    field,
                    format!("is longer than {MAX_FIELD_BYTES} bytes"),
                ));
            }
        }
        let check = |field: &str, value: &Option<String>, known: &[&str]| match value {
            Some(v) if !known.contains(&v.as_str()) => Err(QueryError::bad(
                field,
                format!("`{v}` is not one of {}", known.join(", ")),
            )),
            _ => Ok(()),
        };
        let stages: Vec<&str> = TransportStage::ALL.iter().map(|s| s.code()).collect();
        let customs: Vec<&str> = CustomsState::ALL.iter().map(|s| s.code()).collect();
        let modes: Vec<&str> = ShipmentMode::ALL.iter().map(|s| s.code()).collect();
        check("filters.transportStage", &self.transport_stage, &stages)?;
        check("filters.customsStatus", &self.customs_status, &customs)?;
        check("filters.mode", &self.mode, &modes)
    }

    fn matches(&self, record: &crate::record::StatusRecord) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        eq(&self.shipment_id, Some(&record.shipment_id))
            && eq(&self.shipper, record.shipper.as_deref())
            && eq(&self.transport_stage, Some(record.transport_stage().code()))
            && eq(&self.customs_status, Some(record.customs_status().code()))
            && eq(&self.mode, record.mode().map(|m| m.code()))
    }
}

/// The body of `POST /v1/subscriptions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSubscription {
    pub callback_url: String,
    pub secret: String,
    #[serde(default)]
    pub filters: Filters,
}

/// A subscription as stored on the topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub callback_url: String,
    pub secret: String,
    pub filters: Filters,
    /// `None`: an operator's; otherwise the shipper whose shipments it may see.
    pub shipper: Option<String>,
    pub owner: String,
    pub created_at: String,
    /// Resume token of what has been delivered.
    pub cursor: String,
    /// Set when delivery was paused: the destination failed every attempt for too long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Paused>,
}

/// Why and since when a subscription's delivery is paused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Paused {
    pub paused_at: String,
    pub last_failure: String,
}

impl Subscription {
    fn caller(&self) -> Caller {
        Caller {
            name: Arc::from(self.owner.as_str()),
            role: match &self.shipper {
                None => Role::Operator,
                Some(shipper) => Role::Shipper(Arc::from(shipper.as_str())),
            },
        }
    }

    /// What the API shows: everything but the secret.
    pub fn public_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "callbackUrl": self.callback_url,
            "filters": self.filters,
            "createdAt": self.created_at,
            "state": if self.paused.is_some() { "PAUSED" } else { "ACTIVE" },
            "pausedAt": self.paused.as_ref().map(|p| &p.paused_at),
            "lastFailure": self.paused.as_ref().map(|p| &p.last_failure),
        })
    }
}

/// `sha256=<hex>` of the raw body under the subscription's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
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

    async fn deliver(self: Arc<Self>, mut subscription: Subscription, stop: CancellationToken) {
        let caller = subscription.caller();
        let mut cursor = self.store.cursor(Some(
            Position::decode(&subscription.cursor).unwrap_or_default(),
        ));
        let mut changes = self.store.subscribe();
        let mut persisted = subscription.cursor.clone();
        while !stop.is_cancelled() {
            changes.borrow_and_update();
            let items = self.store.next_batch(&mut cursor, BATCH);
            if items.is_empty() {
                if persisted != cursor.token() {
                    // moved past changes it may not see: remember that too
                    subscription.cursor = cursor.token();
                    if self.persist(&subscription).is_ok() {
                        persisted = subscription.cursor.clone();
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
                continue;
            }
            let now = crate::now_millis();
            let records: Vec<String> = items
                .iter()
                .filter_map(|item| match &item.kind {
                    ChangeKind::Status(record)
                        if self.store.visible(&caller, &item.kind)
                            && subscription.filters.matches(record) =>
                    {
                        Some(record.to_json(now))
                    }
                    _ => None,
                })
                .collect();
            if !records.is_empty() {
                let body = format!("[{}]", records.join(","));
                if !self.post(&mut subscription, body, &stop).await {
                    return;
                }
                subscription.cursor = cursor.token();
                if self.persist(&subscription).is_ok() {
                    persisted = subscription.cursor.clone();
                }
            }
        }
    }

    /// POSTs until the receiver accepts: true then; false when stopped first, or when the
    /// destination failed every attempt for `pause_after` (the subscription is then paused).
    async fn post(
        &self,
        subscription: &mut Subscription,
        body: String,
        stop: &CancellationToken,
    ) -> bool {
        let signature = signature(&subscription.secret, body.as_bytes());
        let mut pause = self.backoff.0;
        let failing_since = std::time::Instant::now();
        loop {
            let failure = match self.attempt(subscription, &body, &signature).await {
                Ok(()) => {
                    self.count("ok");
                    return true;
                }
                Err(failure) => failure,
            };
            self.count("failed");
            if failing_since.elapsed() >= self.limits.pause_after {
                self.pause(subscription, failure);
                return false;
            }
            tracing::warn!(subscription = subscription.id, %failure, retry_in_ms = pause.as_millis() as u64, "webhook delivery failed");
            tokio::select! {
                _ = stop.cancelled() => return false,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(self.backoff.1);
        }
    }

    /// One POST; the failure as text. An address literal is checked here (names are checked by
    /// the resolver at connection time), so a policy narrowed since creation holds too.
    async fn attempt(
        &self,
        subscription: &Subscription,
        body: &str,
        signature: &str,
    ) -> Result<(), String> {
        let url = reqwest::Url::parse(&subscription.callback_url).map_err(|e| e.to_string())?;
        if !matches!(url.host(), Some(url::Host::Domain(_))) {
            self.limits.destinations.check(&url).await?;
        }
        let response = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("Notification-Signature", signature)
            .header("Subscription-ID", &subscription.id)
            .body(body.to_string())
            .send()
            .await
            .map_err(|error| error.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("status {}", response.status().as_u16()))
        }
    }

    fn count(&self, result: &str) {
        self.deliveries
            .get_or_create(&crate::metrics::ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    /// Stops delivering to a destination that keeps failing, and says so where the owner looks.
    fn pause(&self, subscription: &mut Subscription, failure: String) {
        tracing::warn!(subscription = subscription.id, %failure, "webhook destination failing too long, delivery paused");
        subscription.paused = Some(Paused {
            paused_at: kouan_model::Timestamp::from_unix_millis(crate::now_millis())
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            last_failure: failure,
        });
        if let Some(running) = self.running.lock().get_mut(&subscription.id) {
            running.subscription = subscription.clone();
        }
        if let Err(error) = self.persist(subscription) {
            tracing::warn!(%error, subscription = subscription.id, "pause not recorded");
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
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
