//! The handlers of API.md's routes. Each returns `Result`: an [`ApiError`] is the JSON error
//! answer; the caller comes from the authentication layer and visibility is decided in the store.

use super::error::ApiError;
use super::middleware::AuditSql;
use super::params;
use super::AppState;
use crate::auth::Caller;
use crate::kpi::KpiQuery;
use crate::position::Position;
use crate::webhook::NewSubscription;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::collections::HashMap;
use std::time::Duration;

type Answer = Result<Response, ApiError>;

/// How often an idle feed sends a comment, so that proxies keep it open.
const FEED_KEEP_ALIVE: Duration = Duration::from_secs(15);

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A page of a list: its items' JSON and the cursor after the last, if more follow.
fn page(items: Vec<String>, next: Option<&str>) -> Response {
    let next = next.map(|key| hex::encode(key.as_bytes()));
    json(format!(
        "{{\"items\":[{}],\"nextCursor\":{}}}",
        items.join(","),
        serde_json::to_string(&next).expect("string")
    ))
}

pub async fn get_shipment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    match state.store.get(&id) {
        Some(record) if caller.sees(record.shipper.as_deref()) => {
            Ok(json(record.to_json(state.store.now_millis())))
        }
        // another shipper's shipment is as unknown as a missing one
        _ => Err(ApiError::not_found("shipment")),
    }
}

pub async fn list_shipments(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(raw): Query<HashMap<String, String>>,
) -> Answer {
    let query = params::shipment_list(raw)?;
    let (items, more) = state.store.list(&caller, &query);
    let now = state.store.now_millis();
    let next = more
        .then(|| items.last().map(|r| &*r.shipment_id))
        .flatten();
    Ok(page(items.iter().map(|r| r.to_json(now)).collect(), next))
}

pub async fn list_alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(raw): Query<HashMap<String, String>>,
) -> Answer {
    let query = params::alert_list(raw)?;
    let (items, more) =
        state
            .store
            .alerts(&caller, query.state, query.after.as_deref(), query.limit);
    let next = more.then(|| items.last().map(|a| &*a.alert_id)).flatten();
    Ok(page(items.iter().map(|a| a.to_json()).collect(), next))
}

pub async fn me(Extension(caller): Extension<Caller>) -> Answer {
    let body = serde_json::json!({
        "name": &*caller.name,
        "role": caller.role_name(),
        "shipper": caller.shipper(),
    });
    Ok(json(body.to_string()))
}

pub async fn network(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Answer {
    let body = state.store.network(&caller);
    Ok(json(body.to_string()))
}

pub async fn feed(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Answer {
    let from = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => Some(
            Position::decode(text)
                .filter(|position| state.store.accepts(position))
                .ok_or_else(|| {
                    ApiError::bad_request("Last-Event-ID: not an event id of this feed")
                })?,
        ),
        Some(Err(_)) => return Err(ApiError::bad_request("Last-Event-ID: not text")),
    };
    let Some(open) =
        crate::feed::Open::take(&state.metrics.feed_clients, state.http.max_feed_clients)
    else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "feed: {} clients are connected, the most allowed; try again later",
                state.http.max_feed_clients
            ),
        ));
    };
    let cursor = state.store.cursor(from);
    let stream = crate::feed::stream(
        state.store.clone(),
        caller,
        cursor,
        state.cancel.clone(),
        open,
    );
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(FEED_KEEP_ALIVE));
    Ok(sse.into_response())
}

pub async fn kpi_clearance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(raw): Query<HashMap<String, String>>,
) -> Answer {
    let params = params::Params::new(raw, &["direction", "groupBy"])?;
    let query = KpiQuery::parse(params.text("direction"), params.text("groupBy"))?;
    let groups = crate::kpi::clearance(&state.sql, &caller, &query).await?;
    Ok(json(serde_json::json!({ "groups": groups }).to_string()))
}

pub async fn run_sql(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if !caller.is_operator() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "SQL is for operators only",
        ));
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        sql: String,
    }
    let request: Body = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body: expected {{\"sql\": \"...\"}}: {e}")))?;
    let audit = AuditSql(request.sql.clone());
    let answered = answer_sql(&state, &request.sql, &headers).await;
    // the audit line names the SQL whether it was answered or not
    let mut response = answered.unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(audit);
    Ok(response)
}

async fn answer_sql(state: &AppState, sql: &str, headers: &HeaderMap) -> Answer {
    let answer = state.sql.query(sql).await?;
    let arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/vnd.apache.arrow.stream"));
    if !arrow {
        return Ok(json(answer.to_json().to_string()));
    }
    let bytes = answer.to_ipc()?;
    let mut response = (
        [(header::CONTENT_TYPE, "application/vnd.apache.arrow.stream")],
        bytes,
    )
        .into_response();
    response.headers_mut().insert(
        "kouan-truncated",
        HeaderValue::from_static(if answer.truncated { "true" } else { "false" }),
    );
    Ok(response)
}

pub async fn create_subscription(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let request: NewSubscription = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "body: expected {{\"callbackUrl\", \"secret\", \"filters\"}}: {e}"
        ))
    })?;
    let subscription = state.webhooks.create(&caller, request).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        subscription.public_json().to_string(),
    )
        .into_response())
}

pub async fn list_subscriptions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Answer {
    let items: Vec<serde_json::Value> = state
        .webhooks
        .list(&caller)
        .iter()
        .map(|s| s.public_json())
        .collect();
    Ok(json(serde_json::json!({ "items": items }).to_string()))
}

pub async fn resume_subscription(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    match state.webhooks.resume_paused(&caller, &id)? {
        Some(subscription) => Ok(json(subscription.public_json().to_string())),
        None => Err(ApiError::not_found("subscription")),
    }
}

pub async fn delete_subscription(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    match state.webhooks.delete(&caller, &id)? {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(ApiError::not_found("subscription")),
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let counts = state.store.counts();
    state.metrics.shipments.set(counts.shipments as i64);
    state.metrics.alerts_firing.set(counts.firing as i64);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    if state.ready.load(std::sync::atomic::Ordering::Acquire) {
        json(r#"{"status":"serving"}"#.to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"loading"}"#,
        )
            .into_response()
    }
}
