//! A subscription: callback, secret, filters, its owner's visibility and how far it has been
//! delivered — as the API takes it, as the topic keeps it, and as the API shows it.

use super::MAX_FIELD_BYTES;
use crate::auth::{Caller, Role};
use crate::error::QueryError;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;

/// Which status changes a subscription is sent; every filter given must match.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filters {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1024)]
    pub shipment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1024)]
    pub shipper: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<kouan_model::TransportStage>)]
    pub transport_stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<kouan_model::CustomsState>)]
    pub customs_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<kouan_model::ShipmentMode>)]
    pub mode: Option<String>,
}

impl Filters {
    pub(super) fn check(&self) -> Result<(), QueryError> {
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

    pub(super) fn matches(&self, record: &crate::record::StatusRecord) -> bool {
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSubscription {
    /// An http(s) URL; loopback, private and link-local destinations are refused unless the
    /// server allows them (`--webhook-allow`).
    #[schema(max_length = 1024)]
    pub callback_url: String,
    /// The HMAC-SHA256 key of the `Kouan-Signature` header.
    #[schema(min_length = 16, max_length = 1024)]
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
    /// A DCSA T&T subscription's filters as its body gave them (`/dcsa/tnt/v2`); absent for
    /// kouan's own. Its secret is base64, and the key of its signatures is the decoded bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcsa: Option<serde_json::Map<String, serde_json::Value>>,
    /// A ONE Record subscription (`/onerecord/subscriptions`); absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onerecord: Option<OneRecordTopic>,
}

/// What a ONE Record subscription follows: one logistics object (`kind` `object`, `topic` its
/// id) or every object of a type (`kind` `type`, `topic` `Waybill`, `Shipment` or `Piece`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OneRecordTopic {
    pub kind: String,
    pub topic: String,
    /// The subscriber's Organization IRI.
    pub subscriber: String,
    /// `LOGISTICS_EVENT_RECEIVED`, `LOGISTICS_OBJECT_UPDATED`; empty: both.
    pub event_types: Vec<String>,
    /// The base IRI the subscription was made at: the notifications' IRIs use it.
    pub base: String,
}

/// How far a subscription has been delivered, and whether it is paused: the `ID/progress` record,
/// written by its deliverer alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub cursor: String,
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
    /// Whether `other` names the same callback, secret and filters.
    pub(super) fn same_terms(&self, other: &Subscription) -> bool {
        self.callback_url == other.callback_url
            && self.secret == other.secret
            && self.filters == other.filters
            && self.dcsa == other.dcsa
            && self.onerecord == other.onerecord
    }

    /// The key of its signatures: a DCSA subscription's secret decoded from base64, kouan's
    /// secret's bytes.
    pub fn signing_key(&self) -> Vec<u8> {
        use base64::Engine;
        match &self.dcsa {
            Some(_) => base64::engine::general_purpose::STANDARD
                .decode(&self.secret)
                .unwrap_or_else(|_| self.secret.as_bytes().to_vec()),
            None => self.secret.as_bytes().to_vec(),
        }
    }

    pub(super) fn caller(&self) -> Caller {
        Caller {
            name: Arc::from(self.owner.as_str()),
            role: match &self.shipper {
                None => Role::Operator,
                Some(shipper) => Role::Shipper(Arc::from(shipper.as_str())),
            },
        }
    }

    /// What the API shows: everything but the secret.
    pub fn public(&self) -> crate::api::answers::SubscriptionAnswer<'_> {
        use crate::api::answers::{SubscriptionAnswer, SubscriptionState};
        SubscriptionAnswer {
            id: &self.id,
            callback_url: &self.callback_url,
            filters: &self.filters,
            created_at: &self.created_at,
            state: match self.paused {
                Some(_) => SubscriptionState::Paused,
                None => SubscriptionState::Active,
            },
            paused_at: self.paused.as_ref().map(|p| p.paused_at.as_str()),
            last_failure: self.paused.as_ref().map(|p| p.last_failure.as_str()),
        }
    }
}

/// `sha256=<hex>` of the raw body under the subscription's secret.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
