//! The HTTP API of API.md on axum.
//!
//! - [`middleware`]: bearer-token auth on every `/v1` route; one audit line and the request
//!   metrics per request.
//! - [`params`]: typed query-string parameters, each error naming the parameter at fault.
//! - [`handlers`]: one function per route, returning `Result`.
//! - [`error`]: the JSON error answer `{"error": …}`.

pub mod error;
pub mod handlers;
pub mod middleware;
pub mod params;

pub use error::ApiError;
pub use params::MAX_LIMIT;

use crate::auth::Auth;
use crate::metrics::Metrics;
use crate::sql::SqlEngine;
use crate::store::Store;
use crate::webhook::Webhooks;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use handlers::*;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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
    pub http: crate::runner::HttpLimits,
}

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
        .route("/v1/subscriptions/{id}/resume", post(resume_subscription))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ));
    let metrics_route = if state.http.protect_metrics {
        Router::new().route("/metrics", get(metrics)).route_layer(
            axum::middleware::from_fn_with_state(state.clone(), middleware::operator_only),
        )
    } else {
        Router::new().route("/metrics", get(metrics))
    };
    Router::new()
        .merge(v1)
        .merge(metrics_route)
        .route("/healthz", get(healthz))
        .route("/", get(crate::dashboard::page))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::audit,
        ))
        .with_state(state)
}
