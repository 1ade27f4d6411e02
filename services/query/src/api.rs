//! The HTTP API of API.md on axum: bearer-token auth on every `/v1` route, one audit line per
//! request, metrics by route, JSON errors `{"error": …}` naming the parameter at fault.

use crate::auth::{Auth, Caller};
use crate::error::QueryError;
use crate::kpi::KpiQuery;
use crate::metrics::{Metrics, RequestLabels, RouteLabels};
use crate::position::Position;
use crate::sql::SqlEngine;
use crate::store::{ListQuery, Store};
use crate::webhook::{NewSubscription, Webhooks};
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use kouan_model::AlertState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Largest page of a list.
pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub sql: Arc<SqlEngine>,
    pub auth: Arc<Auth>,
    pub webhooks: Arc<Webhooks>,
    pub metrics: Arc<Metrics>,
    pub cancel: CancellationToken,
    /// Set once the store has read the topics up to where they were at start-up.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}

/// An error answer: status code and message.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }
    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.1}).to_string();
        (self.0, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        let status = match &error {
            QueryError::BadRequest { .. }
            | QueryError::Sql(_)
            | QueryError::NotAQuery(_)
            | QueryError::SqlTimeout(_)
            | QueryError::SqlResources(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "request failed");
        }
        ApiError(status, error.to_string())
    }
}

/// The SQL text of a request, handed to the audit line.
#[derive(Clone)]
struct AuditSql(String);

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/v1/shipments", get(list_shipments))
        .route("/v1/shipments/{id}", get(get_shipment))
        .route("/v1/feed", get(feed))
        .route("/v1/alerts", get(list_alerts))
        .route("/v1/network", get(network))
        .route("/v1/me", get(me))
        .route("/v1/kpis/clearance", get(kpi_clearance))
        .route("/v1/sql", post(run_sql))
        .route(
            "/v1/subscriptions",
            post(create_subscription).get(list_subscriptions),
        )
        .route("/v1/subscriptions/{id}", delete(delete_subscription))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(v1)
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/", get(crate::dashboard::page))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::from_fn_with_state(state.clone(), audit))
        .with_state(state)
}

/// Bearer-token check: 401 without a known token.
async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing bearer token: send `Authorization: Bearer TOKEN`",
        ));
    };
    let Some(caller) = state.auth.caller(token).cloned() else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"));
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// One structured line per request, and the request metrics.
async fn audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let caller = response.extensions().get::<Caller>();
    let sql = response
        .extensions()
        .get::<AuditSql>()
        .map(|s| s.0.as_str());
    let elapsed = started.elapsed();
    if route != "/metrics" && route != "/healthz" {
        tracing::info!(
            target: "kouan::audit",
            token = caller.map(|c| &*c.name),
            role = caller.map(|c| c.role_name()),
            shipper = caller.and_then(|c| c.shipper()),
            method = %method,
            route,
            status,
            micros = elapsed.as_micros() as u64,
            sql,
            "api access"
        );
    }
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.to_string(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(elapsed.as_secs_f64());
    response
}

/// Hands the caller to the audit layer with the answer.
fn with_caller(caller: Caller, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(caller);
    response
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn check_params(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    for name in params.keys() {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown parameter `{name}`: expected one of {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn limit_of(params: &HashMap<String, String>) -> Result<usize, ApiError> {
    match params.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("limit: `{text}` is not a number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

/// Cursors are the last item's key, hex-encoded so they travel safely in a query string.
fn cursor_of(params: &HashMap<String, String>) -> Result<Option<String>, ApiError> {
    params
        .get("cursor")
        .map(|text| {
            hex::decode(text)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    ApiError::new(StatusCode::BAD_REQUEST, "cursor: not a cursor of this API")
                })
        })
        .transpose()
}

fn code_param(
    params: &HashMap<String, String>,
    name: &str,
    known: &[&'static str],
) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(value) if known.contains(&value.as_str()) => Ok(Some(value.clone())),
        Some(value) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{name}: `{value}` is not one of {}", known.join(", ")),
        )),
    }
}

async fn get_shipment(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let answer = match state.store.get(&id) {
        Some(record) if caller.sees(record.shipper.as_deref()) => {
            json(record.to_json(crate::now_millis()))
        }
        // another shipper's shipment is as unknown as a missing one
        _ => ApiError::not_found("shipment").into_response(),
    };
    with_caller(caller, answer)
}

async fn list_shipments(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        use kouan_model::{CustomsState, ShipmentMode, TransportStage};
        check_params(
            &params,
            &[
                "shipper",
                "transportStage",
                "customsStatus",
                "mode",
                "limit",
                "cursor",
            ],
        )?;
        let stages: Vec<&str> = TransportStage::ALL.iter().map(|s| s.code()).collect();
        let customs: Vec<&str> = CustomsState::ALL.iter().map(|s| s.code()).collect();
        let modes: Vec<&str> = ShipmentMode::ALL.iter().map(|s| s.code()).collect();
        let query = ListQuery {
            shipper: params.get("shipper").cloned(),
            transport_stage: code_param(&params, "transportStage", &stages)?,
            customs_status: code_param(&params, "customsStatus", &customs)?,
            mode: code_param(&params, "mode", &modes)?,
            after: cursor_of(&params)?,
            limit: limit_of(&params)?,
        };
        let (items, more) = state.store.list(&caller, &query);
        let now = crate::now_millis();
        let next = more
            .then(|| items.last().map(|r| hex::encode(r.shipment_id.as_bytes())))
            .flatten();
        let body: Vec<String> = items.iter().map(|r| r.to_json(now)).collect();
        Ok::<_, ApiError>(json(format!(
            "{{\"items\":[{}],\"nextCursor\":{}}}",
            body.join(","),
            serde_json::to_string(&next).expect("string")
        )))
    })();
    with_caller(caller, result.into_response())
}

async fn list_alerts(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        check_params(&params, &["state", "limit", "cursor"])?;
        let codes: Vec<&'static str> = AlertState::ALL.iter().map(|s| s.code()).collect();
        let wanted =
            code_param(&params, "state", &codes)?.and_then(|code| AlertState::from_code(&code));
        let after = cursor_of(&params)?;
        let (items, more) =
            state
                .store
                .alerts(&caller, wanted, after.as_deref(), limit_of(&params)?);
        let next = more
            .then(|| items.last().map(|a| hex::encode(a.alert_id.as_bytes())))
            .flatten();
        let body: Vec<String> = items.iter().map(|a| a.to_json()).collect();
        Ok::<_, ApiError>(json(format!(
            "{{\"items\":[{}],\"nextCursor\":{}}}",
            body.join(","),
            serde_json::to_string(&next).expect("string")
        )))
    })();
    with_caller(caller, result.into_response())
}

async fn me(axum::Extension(caller): axum::Extension<Caller>) -> Response {
    let body = serde_json::json!({
        "name": &*caller.name,
        "role": caller.role_name(),
        "shipper": caller.shipper(),
    })
    .to_string();
    with_caller(caller, json(body))
}

async fn network(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    let body = state
        .store
        .network(&caller, crate::now_millis())
        .to_string();
    with_caller(caller, json(body))
}

async fn feed(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let from = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => match Position::decode(text) {
            Some(position) => Some(position),
            None => {
                return with_caller(
                    caller,
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "Last-Event-ID: not an event id of this feed",
                    ),
                )
            }
        },
        Some(Err(_)) => {
            return with_caller(
                caller,
                ApiError::new(StatusCode::BAD_REQUEST, "Last-Event-ID: not text"),
            )
        }
    };
    let cursor = state.store.cursor(from);
    let stream = crate::feed::stream(
        state.store.clone(),
        caller.clone(),
        cursor,
        state.cancel.clone(),
        state.metrics.feed_clients.clone(),
    );
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    with_caller(caller, sse)
}

async fn kpi_clearance(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        check_params(&params, &["direction", "groupBy"])?;
        let query = KpiQuery::parse(
            params.get("direction").map(String::as_str),
            params.get("groupBy").map(String::as_str),
        )?;
        let groups = crate::kpi::clearance(&state.sql, &caller, &query).await?;
        Ok::<_, ApiError>(json(serde_json::json!({ "groups": groups }).to_string()))
    }
    .await;
    with_caller(caller, result.into_response())
}

async fn run_sql(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !caller.is_operator() {
        return with_caller(
            caller,
            ApiError::new(StatusCode::FORBIDDEN, "SQL is for operators only"),
        );
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        sql: String,
    }
    let parsed: Result<Body, _> = serde_json::from_slice(&body);
    let sql_text = parsed.as_ref().map(|b| b.sql.clone()).ok();
    let result = async {
        let request = parsed.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("body: expected {{\"sql\": \"...\"}}: {e}"),
            )
        })?;
        let answer = state.sql.query(&request.sql).await?;
        let arrow = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/vnd.apache.arrow.stream"));
        if arrow {
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
            Ok::<_, ApiError>(response)
        } else {
            Ok(json(answer.to_json().to_string()))
        }
    }
    .await;
    let mut response = with_caller(caller, result.into_response());
    if let Some(sql) = sql_text {
        response.extensions_mut().insert(AuditSql(sql));
    }
    response
}

async fn create_subscription(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let request: NewSubscription = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("body: expected {{\"callbackUrl\", \"secret\", \"filters\"}}: {e}"),
            )
        })?;
        let subscription = state.webhooks.create(&caller, request)?;
        Ok::<_, ApiError>(
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                subscription.public_json().to_string(),
            )
                .into_response(),
        )
    })();
    with_caller(caller, result.into_response())
}

async fn list_subscriptions(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    let items: Vec<serde_json::Value> = state
        .webhooks
        .list(&caller)
        .iter()
        .map(|s| s.public_json())
        .collect();
    with_caller(
        caller,
        json(serde_json::json!({ "items": items }).to_string()),
    )
}

async fn delete_subscription(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let result = match state.webhooks.delete(&caller, &id) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => ApiError::not_found("subscription").into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    with_caller(caller, result)
}

async fn metrics(State(state): State<AppState>) -> Response {
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

async fn healthz(State(state): State<AppState>) -> Response {
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
