//! DCSA T&T 2.2 event subscriptions under `/dcsa/tnt/v2/event-subscriptions`: created,
//! listed, read, changed and deleted as DCSA defines them, kept and delivered by kouan's
//! webhook machinery ([`crate::webhook`]: one deliverer per subscription across replicas, in
//! order, retried, paused when failing too long, the destination policy, the per-shipper cap
//! shared with kouan's own subscriptions). A caller sees and changes its own subscriptions only
//! (an operator all); another's is not found.

use super::dcsa::{DcsaError, DEFAULT_LIMIT, MAX_LIMIT};
use super::{ApiError, AppState};
use crate::auth::Caller;
use crate::dcsa::filter_of_body;
use crate::error::QueryError;
use crate::webhook::Subscription;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::Engine;
use serde_json::{Map, Value};

const PATH: &str = "/dcsa/tnt/v2/event-subscriptions";

/// Shortest secret, decoded bytes (24 characters of base64).
pub const MIN_SECRET_BYTES: usize = 16;

impl From<QueryError> for DcsaError {
    /// The status and message kouan's own API gives (logged there), with DCSA's reason.
    fn from(error: QueryError) -> Self {
        let error = ApiError::from(error);
        let status = error.status();
        let reason = match status {
            StatusCode::BAD_REQUEST => "invalidInput",
            StatusCode::TOO_MANY_REQUESTS => "tooManySubscriptions",
            StatusCode::SERVICE_UNAVAILABLE => "serviceUnavailable",
            _ => "internalError",
        };
        DcsaError(status, vec![(reason.into(), error.into_message())])
    }
}

fn json(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn body_object(body: &Bytes) -> Result<Map<String, Value>, DcsaError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(DcsaError::bad_request("(body)", "must be a JSON object")),
        Err(error) => Err(DcsaError::bad_request("(body)", error)),
    }
}

fn text_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, DcsaError> {
    match body.get(name) {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => Err(DcsaError::bad_request(name, "is required")),
        Some(_) => Err(DcsaError::bad_request(name, "must be a string")),
    }
}

/// A base64 secret of at least [`MIN_SECRET_BYTES`] decoded bytes.
fn check_secret(secret: &str) -> Result<(), DcsaError> {
    if secret.len() > crate::webhook::MAX_FIELD_BYTES {
        return Err(DcsaError::bad_request(
            "secret",
            "is longer than 1024 bytes",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .map_err(|_| DcsaError::bad_request("secret", "must be base64"))?;
    if decoded.len() < MIN_SECRET_BYTES {
        return Err(DcsaError::bad_request(
            "secret",
            format!("must decode to at least {MIN_SECRET_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The filters of a body (everything but the callback, the secret and the id), checked.
fn filters_of(body: &Map<String, Value>) -> Result<Map<String, Value>, DcsaError> {
    filter_of_body(body)?;
    Ok(body
        .iter()
        .filter(|(name, value)| {
            !matches!(name.as_str(), "callbackUrl" | "secret" | "subscriptionID")
                && !value.is_null()
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect())
}

/// A subscription as DCSA shows it: its id, callback and filters (never the secret).
fn shown(subscription: &Subscription) -> Value {
    let mut out = Map::new();
    out.insert(
        "subscriptionID".into(),
        Value::from(subscription.id.clone()),
    );
    out.insert(
        "callbackUrl".into(),
        Value::from(subscription.callback_url.clone()),
    );
    for (name, value) in subscription.dcsa.iter().flatten() {
        out.insert(name.clone(), value.clone());
    }
    Value::Object(out)
}

/// A UUID (version 4) for a new subscription, as DCSA's `subscriptionID` is.
fn new_id() -> String {
    let bits = rand::random::<u128>() & !(0xf << 76) | (0x4 << 76);
    let bits = bits & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The caller's DCSA subscription `id`, or not found.
fn own(state: &AppState, caller: &Caller, id: &str) -> Result<Subscription, DcsaError> {
    state
        .webhooks
        .get(caller, id)
        .filter(|s| s.dcsa.is_some())
        .ok_or_else(|| DcsaError::not_found(&format!("subscription {id}")))
}

/// `POST /dcsa/tnt/v2/event-subscriptions`
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, DcsaError> {
    let body = body_object(&body)?;
    let callback = text_field(&body, "callbackUrl")?;
    let secret = text_field(&body, "secret")?;
    check_secret(secret)?;
    let filters = filters_of(&body)?;
    state.webhooks.check_callback(callback).await?;
    state.webhooks.check_quota(&caller)?;
    let subscription = Subscription {
        dcsa: Some(filters),
        ..state.webhooks.new_subscription(
            new_id(),
            &caller,
            callback.to_string(),
            secret.to_string(),
        )
    };
    let subscription = state.webhooks.add(subscription)?;
    Ok(json(StatusCode::CREATED, &shown(&subscription)))
}

/// `GET /dcsa/tnt/v2/event-subscriptions`: the caller's, by `subscriptionID` (or
/// `callbackUrl`), paged by offset.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, DcsaError> {
    let (mut limit, mut sort, mut offset) = (DEFAULT_LIMIT, None, 0usize);
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*name {
            "limit" => {
                let parsed: i64 = value
                    .parse()
                    .map_err(|_| DcsaError::bad_request("limit", "must be an integer"))?;
                if parsed < 1 || parsed > i64::from(i32::MAX) {
                    return Err(DcsaError::bad_request("limit", "must be at least 1"));
                }
                limit = (parsed as usize).min(MAX_LIMIT);
            }
            "sort" => sort = Some(value.into_owned()),
            "cursor" => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(value.as_bytes())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        DcsaError::bad_request("cursor", "is not a cursor this server gave")
                    })?;
                let (at, rest) = decoded.split_once(';').unwrap_or((&decoded, ""));
                offset = at.parse().map_err(|_| {
                    DcsaError::bad_request("cursor", "is not a cursor this server gave")
                })?;
                if !rest.is_empty() {
                    sort = Some(rest.to_string());
                }
            }
            other => return Err(DcsaError::bad_request(other, "unknown parameter")),
        }
    }
    let mut subscriptions: Vec<Subscription> = state
        .webhooks
        .list(&caller)
        .into_iter()
        .filter(|s| s.dcsa.is_some())
        .collect();
    let (field, direction) = sort
        .as_deref()
        .map(|s| s.split_once(':').unwrap_or((s, "ASC")))
        .unwrap_or(("subscriptionID", "ASC"));
    match field {
        "subscriptionID" => subscriptions.sort_by(|a, b| a.id.cmp(&b.id)),
        "callbackUrl" => {
            subscriptions.sort_by(|a, b| (&a.callback_url, &a.id).cmp(&(&b.callback_url, &b.id)))
        }
        other => {
            return Err(DcsaError::bad_request(
                "sort",
                format!("subscriptions sort by `subscriptionID` or `callbackUrl`, not `{other}`"),
            ))
        }
    }
    match direction {
        "ASC" => {}
        "DESC" => subscriptions.reverse(),
        other => {
            return Err(DcsaError::bad_request(
                "sort",
                format!("`{other}` is neither ASC nor DESC"),
            ))
        }
    }
    let total = subscriptions.len();
    let page: Vec<Value> = subscriptions
        .iter()
        .skip(offset)
        .take(limit)
        .map(shown)
        .collect();
    let sort_text = sort.unwrap_or_default();
    let link = |at: usize| {
        let cursor =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at};{sort_text}"));
        HeaderValue::from_str(&format!("{PATH}?cursor={cursor}&limit={limit}"))
            .expect("URL-safe base64")
    };
    let mut headers = HeaderMap::new();
    headers.insert("current-page", link(offset));
    if offset + limit < total {
        headers.insert("next-page", link(offset + limit));
        headers.insert("last-page", link((total - 1) / limit * limit));
    }
    if offset > 0 {
        headers.insert("prev-page", link(offset.saturating_sub(limit)));
        headers.insert("first-page", link(0));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((headers, Value::Array(page).to_string()).into_response())
}

/// `GET /dcsa/tnt/v2/event-subscriptions/{subscriptionID}`
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, DcsaError> {
    Ok(json(StatusCode::OK, &shown(&own(&state, &caller, &id)?)))
}

/// `PUT /dcsa/tnt/v2/event-subscriptions/{subscriptionID}`: a new callback and filters (the
/// secret has its own route); delivery goes on from where it was.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, DcsaError> {
    let subscription = own(&state, &caller, &id)?;
    let body = body_object(&body)?;
    if body.contains_key("secret") {
        return Err(DcsaError::bad_request(
            "secret",
            "is changed through PUT …/{subscriptionID}/secret only",
        ));
    }
    if let Some(given) = body.get("subscriptionID") {
        if given.as_str() != Some(id.as_str()) {
            return Err(DcsaError::bad_request(
                "subscriptionID",
                "differs from the path's",
            ));
        }
    }
    let callback = text_field(&body, "callbackUrl")?;
    let filters = filters_of(&body)?;
    state.webhooks.check_callback(callback).await?;
    let changed = Subscription {
        callback_url: callback.to_string(),
        dcsa: Some(filters),
        ..subscription
    };
    state.webhooks.change(changed.clone())?;
    Ok(json(StatusCode::OK, &shown(&changed)))
}

/// `PUT /dcsa/tnt/v2/event-subscriptions/{subscriptionID}/secret`
pub async fn set_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, DcsaError> {
    let subscription = own(&state, &caller, &id)?;
    let body = body_object(&body)?;
    let secret = text_field(&body, "secret")?;
    check_secret(secret)?;
    if let Some(other) = body.keys().find(|k| *k != "secret") {
        return Err(DcsaError::bad_request(other, "unknown field"));
    }
    state.webhooks.change(Subscription {
        secret: secret.to_string(),
        ..subscription
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /dcsa/tnt/v2/event-subscriptions/{subscriptionID}`
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, DcsaError> {
    own(&state, &caller, &id)?;
    state.webhooks.delete(&caller, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids_and_secrets_are_base64() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert!(check_secret("MTIzNDU2Nzg5MDEyMzQ1Ng==").is_ok());
        assert!(check_secret("c2hvcnQ=").is_err());
        assert!(check_secret("not base64!").is_err());
    }
}
