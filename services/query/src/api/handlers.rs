//! The handlers of API.md's routes. Each returns `Result`: an [`ApiError`] is the JSON error
//! answer; the caller comes from the authentication layer and visibility is decided in the store.

use super::answers::*;
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

/// A page of a list: its items' JSON and the cursor after the last, if more follow — the JSON of
/// [`ShipmentPage`] and [`AlertPage`], spliced from items rendered once.
fn page(items: Vec<String>, next: Option<&str>) -> Response {
    json(page_json(&items, next))
}

fn page_json(items: &[String], next: Option<&str>) -> String {
    let next = next.map(|key| hex::encode(key.as_bytes()));
    format!(
        "{{\"items\":[{}],\"nextCursor\":{}}}",
        items.join(","),
        serde_json::to_string(&next).expect("string")
    )
}

#[utoipa::path(get, path = "/v1/shipments/{id}", tag = "shipments",
    description = "The status record of one shipment, plus `dwellHours` computed now.",
    params(("id" = String, Path, description = "shipmentId")),
    responses(
        (status = 200, description = "the status record", body = ShipmentAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 404, description = "unknown, or another shipper's", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn get_shipment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    match state.store.get(&id) {
        Some(record) if caller.sees(record.shipper.as_deref()) => {
            Ok(json(state.store.answer(&record)))
        }
        // another shipper's shipment is as unknown as a missing one
        _ => Err(ApiError::not_found("shipment")),
    }
}

#[utoipa::path(get, path = "/v1/shipments", tag = "shipments",
    description = "The shipments the caller sees, by shipmentId, a page at a time.",
    params(params::ShipmentListParams),
    responses(
        (status = 200, description = "a page", body = ShipmentPage),
        (status = 400, description = "a parameter is invalid; the message names it", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/alerts", tag = "alerts",
    description = "Alerts of the shipments the caller sees, by alertId, a page at a time.",
    params(params::AlertListParams),
    responses(
        (status = 200, description = "a page", body = AlertPage),
        (status = 400, description = "a parameter is invalid; the message names it", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/me", tag = "callers",
    description = "Who the token names.",
    responses(
        (status = 200, description = "the caller", body = Me),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn me(Extension(caller): Extension<Caller>) -> Answer {
    let body = Me {
        name: &caller.name,
        role: match caller.shipper() {
            None => RoleName::Operator,
            Some(_) => RoleName::Shipper,
        },
        shipper: caller.shipper(),
    };
    Ok(json(serde_json::to_string(&body).expect("serializes")))
}

#[utoipa::path(get, path = "/v1/network", tag = "shipments",
    description = "Where the caller's active shipments are now: waiting per node, moving per mode.",
    responses(
        (status = 200, description = "the network view", body = NetworkAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn network(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Answer {
    Ok(json(state.store.network(&caller)))
}

#[utoipa::path(get, path = "/v1/feed", tag = "feed",
    description = "Server-Sent Events: `status` (data: a Shipment), `alert` (data: an Alert) and \
        `removed` (data: `{\"shipmentId\": …}`) events of the shipments the caller sees, each \
        with an id to resume from; the stream does not end.",
    params(("Last-Event-ID" = Option<String>, Header,
        description = "the id of the last event received: resumes after it with nothing lost")),
    responses(
        (status = 200, description = "the event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "Last-Event-ID is not an event id of this feed", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 503, description = "the most feed clients allowed are connected", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/v1/kpis/clearance", tag = "kpis",
    description = "The clearance-time KPI (整体通关时间) per group of the caller's shipments.",
    params(params::KpiParams),
    responses(
        (status = 200, description = "one entry per group", body = KpiAnswer),
        (status = 400, description = "a parameter is invalid; the message names it", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 429, description = "the most concurrent queries allowed are running", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn kpi_clearance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(raw): Query<HashMap<String, String>>,
) -> Answer {
    let params = params::Params::new(raw, &params::KPI)?;
    let query = KpiQuery::parse(params.text("direction"), params.text("groupBy"))?;
    let groups = crate::kpi::clearance(&state.sql, &caller, &query).await?;
    Ok(json(
        serde_json::to_string(&KpiAnswer { groups }).expect("serializes"),
    ))
}

#[utoipa::path(post, path = "/v1/sql", tag = "sql",
    description = "One read-only SQL query over `shipments`, `milestones` and `alerts`, bounded in \
        rows, time and memory. `Accept: application/vnd.apache.arrow.stream` answers Arrow IPC \
        (the `kouan-truncated` header says whether the row limit cut it).",
    request_body = SqlRequest,
    responses(
        (status = 200, description = "the answer", content(
            (SqlAnswer = "application/json"),
            (Vec<u8> = "application/vnd.apache.arrow.stream"))),
        (status = 400, description = "not JSON, not a query, or the query failed; the message says why", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 403, description = "SQL is for operators only", body = ErrorAnswer),
        (status = 413, description = "the body is too large", body = ErrorAnswer),
        (status = 429, description = "the most concurrent queries allowed are running", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
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
    let request: SqlRequest = serde_json::from_slice(&body)
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
        return Ok(json(
            serde_json::to_string(&answer.to_json()).expect("serializes"),
        ));
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

#[utoipa::path(post, path = "/v1/subscriptions", tag = "webhooks",
    description = "Subscribes a webhook to the status changes of the caller's shipments that match \
        the filters; each is POSTed signed with the secret (`Kouan-Signature: sha256=…`).",
    request_body = NewSubscription,
    responses(
        (status = 201, description = "the subscription", body = SubscriptionAnswer),
        (status = 400, description = "the body is invalid or the destination refused; the message names the field", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 413, description = "the body is too large", body = ErrorAnswer),
        (status = 429, description = "the caller has the most subscriptions allowed", body = ErrorAnswer),
        (status = 503, description = "the broker is not available", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
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
        serde_json::to_string(&subscription.public()).expect("serializes"),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/subscriptions", tag = "webhooks",
    description = "The caller's subscriptions (an operator's: all).",
    responses(
        (status = 200, description = "the subscriptions", body = SubscriptionList),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn list_subscriptions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Answer {
    // DCSA's subscriptions are listed and managed under /dcsa/tnt/v2
    let subscriptions: Vec<_> = state
        .webhooks
        .list(&caller)
        .into_iter()
        .filter(|s| s.dcsa.is_none() && s.onerecord.is_none())
        .collect();
    let list = SubscriptionList {
        items: subscriptions.iter().map(|s| s.public()).collect(),
    };
    Ok(json(serde_json::to_string(&list).expect("serializes")))
}

#[utoipa::path(post, path = "/v1/subscriptions/{id}/resume", tag = "webhooks",
    description = "Resumes a paused subscription's delivery where it stopped.",
    params(("id" = String, Path, description = "the subscription's id")),
    responses(
        (status = 200, description = "the subscription", body = SubscriptionAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 404, description = "unknown, or another caller's", body = ErrorAnswer),
        (status = 503, description = "the broker is not available", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn resume_subscription(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    match state.webhooks.resume_paused(&caller, &id)? {
        Some(subscription) => Ok(json(
            serde_json::to_string(&subscription.public()).expect("serializes"),
        )),
        None => Err(ApiError::not_found("subscription")),
    }
}

#[utoipa::path(delete, path = "/v1/subscriptions/{id}", tag = "webhooks",
    description = "Deletes a subscription; nothing more is delivered to it.",
    params(("id" = String, Path, description = "the subscription's id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 404, description = "unknown, or another caller's", body = ErrorAnswer),
        (status = 503, description = "the broker is not available", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/metrics", tag = "operations",
    description = "Prometheus metrics (OpenMetrics text). Open unless the server protects it \
        (`--protect-metrics`): then an operator's token is required.",
    responses(
        (status = 200, description = "the metrics",
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 401, description = "protected, and no or unknown token", body = ErrorAnswer),
        (status = 403, description = "protected, and not an operator", body = ErrorAnswer),
    ))]
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

#[utoipa::path(get, path = "/healthz", tag = "operations",
    description = "200 once the store has read the topics up to where they were at start-up.",
    responses(
        (status = 200, description = "serving", body = Health),
        (status = 503, description = "still loading", body = Health),
    ))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let (code, status) = if state.ready.load(std::sync::atomic::Ordering::Acquire) {
        (StatusCode::OK, Serving::Serving)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Serving::Loading)
    };
    let body = serde_json::to_string(&Health { status }).expect("serializes");
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// This description, rendered once when the router is built.
#[derive(Clone)]
pub struct OpenApiDocument(pub std::sync::Arc<str>);

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    description = "The OpenAPI 3.1 description of this HTTP API.",
    responses((status = 200, description = "this document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(Extension(document): Extension<OpenApiDocument>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.0.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kouan_model::{Alert, AlertKind, AlertState};

    #[test]
    fn a_spliced_page_is_the_typed_one() {
        let alert = Alert {
            alert_id: "A-1".into(),
            shipment_id: "S-1".into(),
            shipper: None,
            kind: AlertKind::Dwell,
            state: AlertState::Firing,
            node: "CNCGO".into(),
            stage: "yard".into(),
            observed_hours: 30.0,
            threshold_hours: 24.0,
            baseline: "p95".into(),
            started_at_millis: 1_790_000_000_000,
            updated_at_millis: 1_790_000_000_000,
            resolved_at_millis: None,
            message: "waiting".into(),
        };
        for next in [None, Some("A-1")] {
            let spliced: serde_json::Value =
                serde_json::from_str(&page_json(&[alert.to_json()], next)).unwrap();
            let typed = serde_json::to_value(AlertPage {
                items: vec![alert.json_view()],
                next_cursor: next.map(|key| hex::encode(key.as_bytes())),
            })
            .unwrap();
            assert_eq!(spliced, typed);
        }
    }
}
