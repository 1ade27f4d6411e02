//! The HTTP API of API.md on axum.
//!
//! - [`middleware`]: bearer-token auth on every `/v1` route; one audit line and the request
//!   metrics per request.
//! - [`params`]: typed query-string parameters, each error naming the parameter at fault.
//! - [`handlers`]: one function per route, returning `Result`, each with its OpenAPI operation.
//! - [`intake`]: the routes producers and carriers push events to.
//! - [`answers`]: the typed JSON answers, each with its OpenAPI schema.
//! - [`openapi`]: the document's frame (info, security scheme); the paths come from the routes,
//!   so `/openapi.json` describes exactly what the router serves.
//! - [`error`]: the JSON error answer `{"error": …}`.

pub mod answers;
pub mod dcsa;
pub mod dcsa_description;
pub mod dcsa_subscriptions;
pub mod error;
pub mod handlers;
pub mod intake;
pub mod middleware;
pub mod onerecord;
pub mod onerecord_description;
pub mod onerecord_subscriptions;
pub mod openapi;
pub mod params;

pub use error::ApiError;
pub use params::MAX_LIMIT;

use crate::auth::Auth;
use crate::metrics::Metrics;
use crate::sql::SqlEngine;
use crate::store::Store;
use crate::webhook::Webhooks;
use axum::http::StatusCode;
use axum::{Extension, Router};
use handlers::*;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    /// The event intake; `None` where the server takes no events (benchmarks).
    pub intake: Option<Arc<intake::IntakeConfig>>,
}

pub fn router(state: AppState) -> Router {
    let (routes, mut document) = described_routes(Some(&state)).split_for_parts();
    document.merge(standards_description());
    let document = OpenApiDocument(Arc::from(
        document
            .to_json()
            .expect("the description always serializes"),
    ));
    let dcsa = Router::new()
        .route("/dcsa/tnt/v2/events", axum::routing::get(dcsa::events))
        .route(
            "/dcsa/tnt/v2/events/{eventID}",
            axum::routing::get(dcsa::event),
        )
        .route(
            "/dcsa/tnt/v2/event-subscriptions",
            axum::routing::get(dcsa_subscriptions::list).post(dcsa_subscriptions::create),
        )
        .route(
            "/dcsa/tnt/v2/event-subscriptions/{subscriptionID}",
            axum::routing::get(dcsa_subscriptions::get)
                .put(dcsa_subscriptions::update)
                .delete(dcsa_subscriptions::delete),
        )
        .route(
            "/dcsa/tnt/v2/event-subscriptions/{subscriptionID}/secret",
            axum::routing::put(dcsa_subscriptions::set_secret),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn(dcsa::dcsa_layer));
    let onerecord = Router::new()
        .route(
            "/onerecord",
            axum::routing::get(onerecord::server_information),
        )
        .route(
            "/onerecord/",
            axum::routing::get(onerecord::server_information),
        )
        .route(
            "/onerecord/logistics-objects",
            axum::routing::post(onerecord::read_only),
        )
        .route(
            "/onerecord/logistics-objects/{id}",
            axum::routing::get(onerecord::logistics_object)
                .patch(onerecord::read_only)
                .post(onerecord::read_only),
        )
        .route(
            "/onerecord/logistics-objects/{id}/logistics-events",
            axum::routing::get(onerecord::logistics_events).post(onerecord::read_only),
        )
        .route(
            "/onerecord/logistics-objects/{id}/logistics-events/{event}",
            axum::routing::get(onerecord::logistics_event),
        )
        .route(
            "/onerecord/logistics-events",
            axum::routing::post(onerecord::read_only),
        )
        .route(
            "/onerecord/subscriptions",
            axum::routing::post(onerecord_subscriptions::subscribe),
        )
        .route(
            "/onerecord/action-requests/{id}",
            axum::routing::get(onerecord_subscriptions::action_request)
                .delete(onerecord_subscriptions::revoke),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn(onerecord::onerecord_layer));
    routes
        .merge(dcsa)
        .merge(onerecord)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::audit,
        ))
        .layer(Extension(document))
        .with_state(state)
}

/// The OpenAPI description of every route, as served at `/openapi.json`.
pub fn description() -> utoipa::openapi::OpenApi {
    let mut document = described_routes(None).into_openapi();
    document.merge(standards_description());
    document
}

/// The standards' surfaces, described by hand from their own documents.
fn standards_description() -> utoipa::openapi::OpenApi {
    let mut document: utoipa::openapi::OpenApi =
        serde_json::from_value(dcsa_description::document())
            .expect("the DCSA description is an OpenAPI document");
    document.merge(
        serde_json::from_value(onerecord_description::document())
            .expect("the ONE Record description is an OpenAPI document"),
    );
    document
}

/// Every route with its OpenAPI operation. With a state, the `/v1` routes (and `/metrics` when
/// protected) get their authentication layer; the description is the same either way.
fn described_routes(state: Option<&AppState>) -> OpenApiRouter<AppState> {
    let mut v1 = OpenApiRouter::new()
        .routes(routes!(list_shipments))
        .routes(routes!(get_shipment))
        .routes(routes!(feed))
        .routes(routes!(list_alerts))
        .routes(routes!(network))
        .routes(routes!(me))
        .routes(routes!(kpi_clearance))
        .routes(routes!(run_sql))
        .routes(routes!(create_subscription, list_subscriptions))
        .routes(routes!(delete_subscription))
        .routes(routes!(resume_subscription));
    let mut producers = OpenApiRouter::new().routes(routes!(intake::intake));
    // carriers authenticate their callbacks by signature, not by token
    let mut callbacks =
        OpenApiRouter::new().routes(routes!(intake::dcsa_callback, intake::dcsa_callback_check));
    let mut metrics_route = OpenApiRouter::new().routes(routes!(metrics));
    if let Some(state) = state {
        let limit = state
            .intake
            .as_ref()
            .map_or(1 << 20, |intake| intake.max_body_bytes);
        producers = producers
            .layer(axum::extract::DefaultBodyLimit::max(limit))
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                middleware::authenticate_producer,
            ));
        callbacks = callbacks.layer(axum::extract::DefaultBodyLimit::max(limit));
        v1 = v1.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ));
        if state.http.protect_metrics {
            metrics_route = metrics_route.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                middleware::operator_only,
            ));
        }
    }
    OpenApiRouter::with_openapi(openapi::frame())
        .merge(v1)
        .merge(producers)
        .merge(callbacks)
        .merge(metrics_route)
        .routes(routes!(healthz))
        .routes(routes!(crate::dashboard::page))
        .routes(routes!(openapi_json))
}
