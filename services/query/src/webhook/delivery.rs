//! The delivery task of one subscription: batches of the changes it may see, POSTed signed, in
//! order, retried with backoff; its progress recorded on the topic; a destination failing too long
//! paused.

use super::*;

mod onerecord;

use crate::position::Position;
use crate::store::ChangeKind;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

impl Webhooks {
    pub(super) async fn deliver(
        self: Arc<Self>,
        mut subscription: Subscription,
        stop: CancellationToken,
    ) {
        let caller = subscription.caller();
        let mut cursor = self.store.cursor(Some(
            Position::decode(&subscription.cursor).unwrap_or_default(),
        ));
        let mut changes = self.store.subscribe();
        let mut persisted = subscription.cursor.clone();
        // a DCSA subscription is sent the DCSA events its changes add, each version once
        let dcsa_filter = match subscription.dcsa.as_ref().map(crate::dcsa::filter_of_body) {
            Some(Ok(filter)) => Some(filter),
            Some(Err(error)) => {
                tracing::error!(subscription = subscription.id, %error.message, "a DCSA subscription's filters no longer parse; not delivered");
                return;
            }
            None => None,
        };
        let mut recent = crate::dcsa::Recent::default();
        let mut seen = crate::dcsa::Recent::<String>::default();
        while !stop.is_cancelled() {
            changes.borrow_and_update();
            let batch = self.store.next_batch(&mut cursor, BATCH, &caller);
            if batch.items.is_empty() && !batch.at_end {
                // changes it may not see: let other tasks run before the next look
                tokio::task::yield_now().await;
                continue;
            }
            let items = batch.items;
            if items.is_empty() {
                if persisted != cursor.token() {
                    // moved past changes it may not see: remember that too
                    subscription.cursor = cursor.token();
                    if self.ownership.wait(&stop).await
                        && self.persist_progress(&subscription).is_ok()
                    {
                        persisted = subscription.cursor.clone();
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
                continue;
            }
            let now = kouan_model::wall_millis();
            // ONE Record sends one notification per POST; the others a JSON array per batch
            let bodies: Vec<String> = if let Some(topic) = &subscription.onerecord {
                onerecord::notifications(&items, topic, &subscription.id, &mut seen)
            } else {
                let records: Vec<String> = match &dcsa_filter {
                    Some(filter) => {
                        let found =
                            self.store
                                .dcsa()
                                .notifications(&items, filter, &caller, &mut recent);
                        crate::dcsa::render(&self.store, &found)
                            .iter()
                            .map(|event| event.to_string())
                            .collect()
                    }
                    None => items
                        .iter()
                        .filter_map(|item| match &item.kind {
                            ChangeKind::Status(record) if subscription.filters.matches(record) => {
                                item.status_json(now)
                            }
                            _ => None,
                        })
                        .collect(),
                };
                if records.is_empty() {
                    Vec::new()
                } else {
                    vec![format!("[{}]", records.join(","))]
                }
            };
            if !bodies.is_empty() {
                for body in bodies {
                    if !self.post(&mut subscription, body, &stop).await {
                        return;
                    }
                }
                subscription.cursor = cursor.token();
                // accepted: recorded, unless this replica stopped delivering it (deleted, or its
                // partition moved: the new deliverer owns the progress now). A process that is
                // shutting down was still its deliverer when the receiver accepted the batch.
                let still_ours = (!stop.is_cancelled()
                    && self.ownership.is_fresh(kouan_model::wall_millis()))
                    || self.cancel.is_cancelled();
                if still_ours && self.persist_progress(&subscription).is_ok() {
                    persisted = subscription.cursor.clone();
                }
            }
        }
    }

    /// POSTs until the receiver accepts: true then; false when stopped first, or when the
    /// destination failed every attempt for `pause_after` (the subscription is then paused).
    pub(super) async fn post(
        &self,
        subscription: &mut Subscription,
        body: String,
        stop: &CancellationToken,
    ) -> bool {
        let signature = signature(&subscription.signing_key(), body.as_bytes());
        let mut pause = self.backoff.0;
        let failing_since = std::time::Instant::now();
        loop {
            // a replica back from a pause POSTs nothing until the group says it still delivers
            if !self.ownership.wait(stop).await {
                return false;
            }
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
    pub(super) async fn attempt(
        &self,
        subscription: &Subscription,
        body: &str,
        signature: &str,
    ) -> Result<(), String> {
        let url = reqwest::Url::parse(&subscription.callback_url).map_err(|e| e.to_string())?;
        if !matches!(url.host(), Some(url::Host::Domain(_))) {
            self.limits.destinations.check(&url).await?;
        }
        let mut request = self.client.post(url);
        request = match &subscription.onerecord {
            // ONE Record authenticates its parties, it does not sign notifications
            Some(_) => request.header("Content-Type", "application/ld+json"),
            None => request
                .header("Content-Type", "application/json")
                .header("Notification-Signature", signature)
                .header("Subscription-ID", &subscription.id),
        };
        if subscription.dcsa.is_some() {
            request = request.header("API-Version", crate::api::dcsa::API_VERSION);
        }
        let response = request
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

    pub(super) fn count(&self, result: &str) {
        self.deliveries
            .get_or_create(&crate::metrics::ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    /// Stops delivering to a destination that keeps failing, and says so where the owner looks.
    pub(super) fn pause(&self, subscription: &mut Subscription, failure: String) {
        tracing::warn!(subscription = subscription.id, %failure, "webhook destination failing too long, delivery paused");
        subscription.paused = Some(Paused {
            paused_at: kouan_model::Timestamp::from_unix_millis(kouan_model::wall_millis())
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            last_failure: failure,
        });
        if let Some(known) = self.known.lock().get_mut(&subscription.id) {
            known.paused = subscription.paused.clone();
        }
        // the task ends here: a resume starts a new one
        self.running.lock().remove(&subscription.id);
        if let Err(error) = self.persist_progress(subscription) {
            tracing::warn!(%error, subscription = subscription.id, "pause not recorded");
        }
    }
}
