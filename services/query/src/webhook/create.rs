//! Creating, reading and changing subscriptions (kouan's own, DCSA's and ONE Record's), and
//! the checks every one passes: its callback, the per-shipper cap.

use super::*;

fn too_long(field: &str) -> QueryError {
    QueryError::bad(field, format!("is longer than {MAX_FIELD_BYTES} bytes"))
}

impl Webhooks {
    /// Validates and creates a subscription starting at the present.
    pub async fn create(
        self: &Arc<Self>,
        caller: &Caller,
        request: NewSubscription,
    ) -> Result<Subscription, QueryError> {
        self.check_callback(&request.callback_url).await?;
        if request.secret.len() > MAX_FIELD_BYTES {
            return Err(too_long("secret"));
        }
        if request.secret.len() < 16 {
            return Err(QueryError::bad("secret", "must be at least 16 characters"));
        }
        request.filters.check()?;
        if let (Some(own), Some(asked)) = (caller.shipper(), &request.filters.shipper) {
            if own != asked {
                return Err(QueryError::bad(
                    "filters.shipper",
                    "a shipper can only subscribe to its own shipments",
                ));
            }
        }
        self.check_quota(caller)?;
        let subscription = self.new_subscription(
            format!("sub-{:032x}", rand::random::<u128>()),
            caller,
            request.callback_url,
            request.secret,
        );
        let subscription = Subscription {
            filters: request.filters,
            ..subscription
        };
        self.add(subscription)
    }

    /// A callback URL a subscription may name: http(s), with a host, a destination the policy
    /// allows.
    pub(crate) async fn check_callback(&self, callback_url: &str) -> Result<(), QueryError> {
        if callback_url.len() > MAX_FIELD_BYTES {
            return Err(too_long("callbackUrl"));
        }
        let url = reqwest::Url::parse(callback_url)
            .map_err(|e| QueryError::bad("callbackUrl", format!("is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(QueryError::bad(
                "callbackUrl",
                "must be an http or https URL with a host",
            ));
        }
        self.limits
            .destinations
            .check(&url)
            .await
            .map_err(|reason| QueryError::bad("callbackUrl", reason))
    }

    /// A shipper holds at most `per_shipper` subscriptions, kouan's and DCSA's together.
    pub(crate) fn check_quota(&self, caller: &Caller) -> Result<(), QueryError> {
        let Some(shipper) = caller.shipper() else {
            return Ok(());
        };
        let held = self
            .known
            .lock()
            .values()
            .filter(|s| s.shipper.as_deref() == Some(shipper))
            .count();
        if held >= self.limits.per_shipper {
            return Err(QueryError::Quota(format!(
                "subscriptions: a shipper may hold at most {} (delete one first)",
                self.limits.per_shipper
            )));
        }
        Ok(())
    }

    /// A subscription of `caller`'s starting at the present, without filters.
    pub(crate) fn new_subscription(
        &self,
        id: String,
        caller: &Caller,
        callback_url: String,
        secret: String,
    ) -> Subscription {
        Subscription {
            id,
            callback_url,
            secret,
            filters: Filters::default(),
            shipper: caller.shipper().map(str::to_string),
            owner: caller.name.to_string(),
            created_at: kouan_model::Timestamp::from_parts(kouan_model::wall_millis() / 1000, 0, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            cursor: self.store.position().encode(),
            paused: None,
            dcsa: None,
            onerecord: None,
        }
    }

    /// Writes a new subscription and shows it here at once; its deliverer starts when it reads
    /// the record.
    pub(crate) fn add(
        self: &Arc<Self>,
        subscription: Subscription,
    ) -> Result<Subscription, QueryError> {
        self.persist(&subscription)?;
        self.known
            .lock()
            .insert(subscription.id.clone(), subscription.clone());
        self.reconcile(&subscription.id);
        Ok(subscription)
    }

    /// The subscription `id` when `caller` may see it.
    pub fn get(&self, caller: &Caller, id: &str) -> Option<Subscription> {
        self.known
            .lock()
            .get(id)
            .filter(|s| caller.is_operator() || s.shipper.as_deref() == caller.shipper())
            .cloned()
    }

    /// Writes a changed subscription (its callback, filters or secret; never its progress) and
    /// restarts its delivery with them, from where it is.
    pub(crate) fn change(self: &Arc<Self>, subscription: Subscription) -> Result<(), QueryError> {
        self.persist(&subscription)?;
        self.replace_known(subscription);
        Ok(())
    }

    /// A subscription record replacing a known one: the progress stays, the delivery restarts.
    pub(super) fn replace_known(self: &Arc<Self>, mut subscription: Subscription) {
        let id = subscription.id.clone();
        {
            let mut known = self.known.lock();
            if let Some(old) = known.get(&id) {
                subscription.cursor = old.cursor.clone();
                subscription.paused = old.paused.clone();
            }
            known.insert(id.clone(), subscription);
        }
        if let Some(stop) = self.running.lock().remove(&id) {
            stop.cancel();
        }
        self.reconcile(&id);
    }
}
