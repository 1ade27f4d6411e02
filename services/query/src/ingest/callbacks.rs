//! The DCSA Track & Trace subscriptions kouan holds at carriers (`--dcsa-subscriptions FILE`,
//! one `SUBSCRIPTION_ID SOURCE SECRET` per line, the secret in base64 as DCSA's `secret` field
//! carries it), and the check of a callback's `Notification-Signature`: `sha256=` and the hex
//! HMAC-SHA256 of the raw body under the subscription's secret.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Subscription {
    /// The carrier, as the source of the events its callbacks carry.
    pub source: Arc<str>,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    by_id: HashMap<String, Subscription>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscriptionsError {
    #[error("line {line}: expected `SUBSCRIPTION_ID SOURCE SECRET`")]
    Shape { line: usize },
    #[error("line {line}: the secret is not base64")]
    Secret { line: usize },
    #[error("line {line}: the secret is shorter than 16 bytes")]
    Short { line: usize },
    #[error("line {line}: subscription {id} appears twice")]
    Twice { line: usize, id: String },
}

/// Why a callback was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("the Subscription-ID header is missing")]
    NoSubscription,
    #[error("subscription {0} is not one kouan holds")]
    UnknownSubscription(String),
    #[error("the Notification-Signature header is missing")]
    NoSignature,
    #[error("Notification-Signature is not `sha256=<hex>`")]
    SignatureShape,
    #[error("Notification-Signature does not match the body under the subscription's secret")]
    BadSignature,
}

impl Subscriptions {
    pub fn parse(text: &str) -> Result<Self, SubscriptionsError> {
        let mut by_id = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let words: Vec<&str> = content.split_whitespace().collect();
            let [id, source, secret] = words.as_slice() else {
                return Err(SubscriptionsError::Shape { line });
            };
            let secret = base64::engine::general_purpose::STANDARD
                .decode(secret)
                .map_err(|_| SubscriptionsError::Secret { line })?;
            if secret.len() < 16 {
                return Err(SubscriptionsError::Short { line });
            }
            let subscription = Subscription {
                source: Arc::from(*source),
                secret,
            };
            if by_id.insert(id.to_string(), subscription).is_some() {
                return Err(SubscriptionsError::Twice {
                    line,
                    id: id.to_string(),
                });
            }
        }
        Ok(Subscriptions { by_id })
    }

    pub fn get(&self, id: &str) -> Option<&Subscription> {
        self.by_id.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The subscription a callback comes from, once its signature over `body` is checked.
    pub fn verify(
        &self,
        subscription_id: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<&Subscription, CallbackError> {
        self.claim(subscription_id, signature)?.check(body)
    }

    /// What a callback's headers claim, checked before its body is read: an unknown subscription
    /// or a malformed signature is refused without reading a byte of the body.
    pub fn claim(
        &self,
        subscription_id: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Claim<'_>, CallbackError> {
        let id = subscription_id
            .map(str::trim)
            .ok_or(CallbackError::NoSubscription)?;
        let subscription = self
            .get(id)
            .ok_or_else(|| CallbackError::UnknownSubscription(id.to_string()))?;
        let signature = signature.ok_or(CallbackError::NoSignature)?.trim();
        let (kind, hex_digest) = signature
            .split_once('=')
            .ok_or(CallbackError::SignatureShape)?;
        if !kind.eq_ignore_ascii_case("sha256") {
            return Err(CallbackError::SignatureShape);
        }
        let expected = hex::decode(hex_digest).map_err(|_| CallbackError::SignatureShape)?;
        Ok(Claim {
            subscription,
            expected,
        })
    }
}

/// A callback's subscription and the signature it claims, before its body is read.
pub struct Claim<'a> {
    subscription: &'a Subscription,
    expected: Vec<u8>,
}

impl<'a> Claim<'a> {
    /// The subscription, when the claimed signature is the body's under its secret.
    pub fn check(self, body: &[u8]) -> Result<&'a Subscription, CallbackError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.subscription.secret)
            .expect("hmac takes keys of any length");
        mac.update(body);
        // constant time: a wrong signature tells nothing about the right one
        mac.verify_slice(&self.expected)
            .map_err(|_| CallbackError::BadSignature)?;
        Ok(self.subscription)
    }
}

/// The `Notification-Signature` a publisher holding `secret` (base64) sends with `body`.
pub fn sign(secret_base64: &str, body: &[u8]) -> Option<String> {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret_base64)
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";

    #[test]
    fn a_callback_is_taken_only_with_its_subscriptions_signature() {
        let subscriptions =
            Subscriptions::parse(&format!("# carriers\nsub-1 carrier-a {SECRET}\n")).unwrap();
        let body = br#"[{"eventID":"x"}]"#;
        let signature = sign(SECRET, body).unwrap();
        let taken = subscriptions
            .verify(Some("sub-1"), Some(&signature), body)
            .unwrap();
        assert_eq!(&*taken.source, "carrier-a");
        // one byte of the body changed, another subscription, no signature, a bad shape
        assert_eq!(
            subscriptions
                .verify(Some("sub-1"), Some(&signature), br#"[{"eventID":"y"}]"#)
                .unwrap_err(),
            CallbackError::BadSignature
        );
        assert!(matches!(
            subscriptions.verify(Some("sub-2"), Some(&signature), body),
            Err(CallbackError::UnknownSubscription(_))
        ));
        assert_eq!(
            subscriptions.verify(Some("sub-1"), None, body).unwrap_err(),
            CallbackError::NoSignature
        );
        assert_eq!(
            subscriptions
                .verify(Some("sub-1"), Some("md5=00"), body)
                .unwrap_err(),
            CallbackError::SignatureShape
        );
        assert!(matches!(
            Subscriptions::parse("sub-1 carrier-a c2hvcnQ="),
            Err(SubscriptionsError::Short { line: 1 })
        ));
        assert!(!format!("{:?}", subscriptions.get("sub-1").unwrap()).contains("secret"));
    }
}
