//! ONE Record subscriptions under `/onerecord`: `POST /subscriptions` (a logistics object, or a
//! type of them), accepted at once as a SubscriptionRequest under `/action-requests/{id}`
//! (read with `GET`, revoked with `DELETE`). Notifications go to the subscriber's own ONE
//! Record server — its `/notifications` endpoint, derived from the Organization IRI of
//! `hasSubscriber` — through kouan's webhook machinery (one deliverer, in order, retried, the
//! destination policy, the per-shipper cap).

use super::onerecord::{base_of, OneRecordError, CONTENT_TYPE};
use super::{ApiError, AppState};
use crate::auth::Caller;
use crate::error::QueryError;
use crate::webhook::{OneRecordTopic, Subscription};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use kouan_standards::onerecord::published::{self, ObjectKind, API};
use serde_json::{json, Value};

/// The subscription event types kouan sends.
pub const EVENT_TYPES: &[&str] = &["LOGISTICS_EVENT_RECEIVED", "LOGISTICS_OBJECT_UPDATED"];

impl From<QueryError> for OneRecordError {
    /// The status and message kouan's own API gives (logged there).
    fn from(error: QueryError) -> Self {
        let error = ApiError::from(error);
        OneRecordError(error.status(), error.into_message())
    }
}

/// A property of a JSON-LD object, compacted (`api:x`) or by its full IRI.
fn property<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .get(format!("api:{name}"))
        .or_else(|| object.get(format!("{API}{name}")))
}

/// A node's IRI or a literal's value, with the `api:` prefix expanded.
fn text_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.as_str(),
        Value::Object(object) => object
            .get("@id")
            .or_else(|| object.get("@value"))
            .and_then(Value::as_str)?,
        _ => return None,
    };
    Some(match text.strip_prefix("api:") {
        Some(rest) => format!("{API}{rest}"),
        None => text.to_string(),
    })
}

fn bad(message: impl Into<String>) -> OneRecordError {
    OneRecordError(StatusCode::BAD_REQUEST, message.into())
}

/// The subscriber's notifications endpoint: its ONE Record server, as its Organization IRI
/// names it (`https://1r.example.com/logistics-objects/org` → `https://1r.example.com/notifications`).
fn notifications_of(subscriber: &str) -> Option<String> {
    let (server, _) = subscriber.split_once("/logistics-objects/")?;
    Some(format!("{server}/notifications"))
}

/// `POST /onerecord/subscriptions`
pub async fn subscribe(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OneRecordError> {
    let body: Value = serde_json::from_slice(&body).map_err(|e| bad(format!("(body): {e}")))?;
    if !body.is_object() {
        return Err(bad("(body): must be a Subscription object"));
    }
    let field = |name: &str| {
        property(&body, name)
            .and_then(text_of)
            .ok_or_else(|| bad(format!("api:{name}: is required")))
    };
    let topic_type = field("hasTopicType")?;
    let topic = field("hasTopic")?;
    let subscriber = field("hasSubscriber")?;
    let base = base_of(&headers);
    let (kind, topic) = match topic_type.strip_prefix(API) {
        Some("LOGISTICS_OBJECT_IDENTIFIER") => {
            let id = topic
                .strip_prefix(&format!("{base}/logistics-objects/"))
                .or_else(|| topic.rsplit_once("/logistics-objects/").map(|(_, id)| id))
                .ok_or_else(|| bad("api:hasTopic: is not a logistics object of this server"))?;
            let (_, awb) = published::parse_object_id(id)
                .ok_or_else(|| bad("api:hasTopic: is not a logistics object of this server"))?;
            let visible = state
                .store
                .get(awb)
                .filter(|r| caller.sees(r.shipper.as_deref()))
                .is_some_and(|r| published::is_air(&r.status()));
            if !visible {
                return Err(OneRecordError(
                    StatusCode::NOT_FOUND,
                    format!("logistics object {id} not found"),
                ));
            }
            ("object", id.to_string())
        }
        Some("LOGISTICS_OBJECT_TYPE") => {
            let kind = ObjectKind::of_type(&topic).ok_or_else(|| {
                bad("api:hasTopic: kouan holds cargo:Waybill, cargo:Shipment and cargo:Piece")
            })?;
            ("type", kind.name().to_string())
        }
        _ => {
            return Err(bad(
                "api:hasTopicType: must be api:LOGISTICS_OBJECT_IDENTIFIER or api:LOGISTICS_OBJECT_TYPE",
            ))
        }
    };
    let mut event_types = Vec::new();
    if let Some(listed) = property(&body, "includeSubscriptionEventType") {
        let listed = match listed {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for item in &listed {
            let name = text_of(item)
                .and_then(|t| t.strip_prefix(API).map(str::to_string))
                .filter(|t| EVENT_TYPES.contains(&t.as_str()))
                .ok_or_else(|| {
                    bad(format!(
                        "api:includeSubscriptionEventType: kouan sends {}",
                        EVENT_TYPES.join(" and ")
                    ))
                })?;
            event_types.push(name);
        }
    }
    let callback = notifications_of(&subscriber).ok_or_else(|| {
        bad("api:hasSubscriber: must be an Organization IRI of a ONE Record server (…/logistics-objects/…)")
    })?;
    state.webhooks.check_callback(&callback).await?;
    state.webhooks.check_quota(&caller)?;
    let id = format!("{:032x}", rand::random::<u128>());
    let subscription = Subscription {
        onerecord: Some(OneRecordTopic {
            kind: kind.to_string(),
            topic,
            subscriber,
            event_types,
            base: base.clone(),
        }),
        ..state.webhooks.new_subscription(
            id.clone(),
            &caller,
            callback,
            format!("{:032x}", rand::random::<u128>()),
        )
    };
    state.webhooks.add(subscription)?;
    let mut response = StatusCode::CREATED.into_response();
    let map = response.headers_mut();
    map.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("{base}/action-requests/{id}")).expect("an IRI"),
    );
    map.insert(
        "type",
        HeaderValue::from_static("https://onerecord.iata.org/ns/api#SubscriptionRequest"),
    );
    Ok(response)
}

fn own(state: &AppState, caller: &Caller, id: &str) -> Result<Subscription, OneRecordError> {
    state
        .webhooks
        .get(caller, id)
        .filter(|s| s.onerecord.is_some())
        .ok_or_else(|| {
            OneRecordError(
                StatusCode::NOT_FOUND,
                format!("action request {id} not found"),
            )
        })
}

/// `GET /onerecord/action-requests/{id}`: the subscription request, accepted.
pub async fn action_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, OneRecordError> {
    let subscription = own(&state, &caller, &id)?;
    let topic = subscription
        .onerecord
        .as_ref()
        .expect("a ONE Record subscription");
    let (topic_type, topic_iri) = match topic.kind.as_str() {
        "object" => (
            "api:LOGISTICS_OBJECT_IDENTIFIER",
            format!("{}/logistics-objects/{}", topic.base, topic.topic),
        ),
        _ => (
            "api:LOGISTICS_OBJECT_TYPE",
            format!("{}{}", kouan_standards::onerecord::CARGO, topic.topic),
        ),
    };
    let event_types: Vec<Value> = topic
        .event_types
        .iter()
        .map(|t| json!({"@id": format!("api:{t}")}))
        .collect();
    let at = json!({"@type": "http://www.w3.org/2001/XMLSchema#dateTime", "@value": subscription.created_at});
    let value = json!({
        "@context": {"api": API},
        "@id": format!("{}/action-requests/{id}", topic.base),
        "@type": "api:SubscriptionRequest",
        "api:hasSubscription": {
            "@type": "api:Subscription",
            "api:hasContentType": CONTENT_TYPE,
            "api:hasSubscriber": {"@id": topic.subscriber},
            "api:hasTopicType": {"@id": topic_type},
            "api:hasTopic": {"@type": "http://www.w3.org/2001/XMLSchema#anyURI", "@value": topic_iri},
            "api:includeSubscriptionEventType": event_types,
        },
        "api:hasRequestStatus": {"@id": "api:REQUEST_ACCEPTED"},
        "api:isRequestedAt": at,
        "api:hasRequestStatusSince": at,
    });
    let mut response = value.to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
        .headers_mut()
        .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en-US"));
    response.headers_mut().insert(
        "type",
        HeaderValue::from_static("https://onerecord.iata.org/ns/api#SubscriptionRequest"),
    );
    Ok(response)
}

/// `DELETE /onerecord/action-requests/{id}`: revokes the subscription; nothing more is sent.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, OneRecordError> {
    own(&state, &caller, &id)?;
    state.webhooks.delete(&caller, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
