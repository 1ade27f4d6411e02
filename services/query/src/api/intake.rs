//! `POST /v1/intake/{format}` for producers, and `POST`/`HEAD /v1/intake/dcsa/callback` for the
//! carriers kouan subscribes to: the body is read by its standard, held to the producer's own
//! sources, written, and answered message by message.

use super::answers::ErrorAnswer;
use super::error::ApiError;
use super::AppState;
use crate::auth::Caller;
use crate::ingest::callbacks::Subscriptions;
use crate::ingest::writer::Writer;
use crate::ingest::{admit, default_source, IntakeAnswer};
use crate::metrics::IntakeLabels;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kouan_model::Timestamp;
use kouan_standards::{Context, Format, MessageOutcome, SourceZones};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

/// What the intake needs besides the store: where to write, the sources' zones, the carriers'
/// subscriptions, and the largest body it reads.
pub struct IntakeConfig {
    pub writer: Writer,
    pub zones: SourceZones,
    pub subscriptions: Subscriptions,
    pub max_body_bytes: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntakeParams {
    /// The source of messages that name no sender (DCSA and ONE Record events, an FSU without
    /// its envelope): one of the token's sources; its only one when absent.
    pub source: Option<String>,
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn enabled(state: &AppState) -> Result<&Arc<IntakeConfig>, ApiError> {
    state.intake.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server takes no events (no intake configured)",
        )
    })
}

/// Writes the outcomes, counts them, logs the rejections, and answers.
async fn write(
    state: &AppState,
    intake: &IntakeConfig,
    format: Format,
    outcomes: &[MessageOutcome],
    origin: &str,
) -> Result<IntakeAnswer, ApiError> {
    intake
        .writer
        .write(outcomes, origin)
        .await
        .map_err(|error| {
            tracing::warn!(%error, origin, "intake: the broker did not take the records");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the broker did not acknowledge every record ({error}); send the body again"
                ),
            )
        })?;
    let answer = IntakeAnswer::of(format.name(), outcomes);
    for (outcome, count) in [("taken", answer.taken), ("rejected", answer.rejected)] {
        state
            .metrics
            .intake_events
            .get_or_create(&IntakeLabels {
                format: format.name().to_string(),
                outcome: outcome.to_string(),
            })
            .inc_by(count as u64);
    }
    for message in &answer.messages {
        for rejection in &message.rejected {
            tracing::info!(
                origin,
                format = format.name(),
                place = %rejection.place,
                reason = %rejection.reason,
                "intake: rejected, sent to the dead-letter topic"
            );
        }
    }
    Ok(answer)
}

#[utoipa::path(post, path = "/v1/intake/{format}", tag = "intake",
    description = "Publishes a producer's messages: kouan's NDJSON, or UN/EDIFACT, Cargo-IMP, Cargo-XML, DCSA or ONE Record. Every event must be of one of the token's sources; each message is answered with what was taken and what was rejected (also sent to the dead-letter topic) and why. `taken` events are on the event topics when the answer is sent.",
    params(("format" = String, Path, description = "ndjson, edifact, cargo-imp, cargo-xml, dcsa or onerecord"), IntakeParams),
    request_body(content = String, description = "the messages, as the format writes them", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "each message, taken or rejected and why", body = IntakeAnswer),
        (status = 400, description = "unknown format or source", body = ErrorAnswer),
        (status = 401, description = "no or unknown token", body = ErrorAnswer),
        (status = 403, description = "not a producer's token", body = ErrorAnswer),
        (status = 413, description = "the body is larger than the intake takes", body = ErrorAnswer),
        (status = 503, description = "the broker did not acknowledge: send again", body = ErrorAnswer),
    ),
    security(("bearer" = [])))]
pub async fn intake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(format): Path<String>,
    Query(params): Query<IntakeParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !caller.is_producer() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only a producer's token publishes events",
        ));
    }
    let intake = enabled(&state)?;
    let format = Format::from_name(&format).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("format {format:?} is none of ndjson, edifact, cargo-imp, cargo-xml, dcsa, onerecord"),
        )
    })?;
    let source = default_source(&caller, params.source.as_deref())
        .map_err(|reason| ApiError::new(StatusCode::BAD_REQUEST, reason))?;
    let context = Context {
        zones: &intake.zones,
        source,
        reference_time: now(),
    };
    let mut outcomes = format.parse(&body, &context);
    admit(&mut outcomes, caller.sources());
    let origin = format!("intake {}", caller.name);
    let answer = write(&state, intake, format, &outcomes, &origin).await?;
    Ok(Json(answer).into_response())
}

#[utoipa::path(post, path = "/v1/intake/dcsa/callback", tag = "intake",
    description = "Where a carrier's DCSA Track & Trace 2.2 subscription delivers events (give this URL as the subscription's callbackUrl). The `Subscription-ID` header names one of the subscriptions of `--dcsa-subscriptions`, and `Notification-Signature` must be `sha256=` and the HMAC-SHA256 of the raw body under that subscription's secret; the events are the subscription's carrier's.",
    params(
        ("Subscription-ID" = String, Header, description = "the subscription the carrier delivers for"),
        ("Notification-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body>"),
    ),
    request_body(content = String, description = "a JSON array of DCSA T&T 2.2 events", content_type = "application/json"),
    responses(
        (status = 204, description = "taken (rejected events, if any, are on the dead-letter topic)"),
        (status = 401, description = "unknown subscription, or a signature that does not match", body = ErrorAnswer),
        (status = 413, description = "the body is larger than the intake takes", body = ErrorAnswer),
        (status = 503, description = "the broker did not acknowledge: the carrier sends again", body = ErrorAnswer),
    ))]
pub async fn dcsa_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let intake = enabled(&state)?;
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let refused = |error: crate::ingest::callbacks::CallbackError| {
        tracing::warn!(%error, "intake: DCSA callback refused");
        ApiError::new(StatusCode::UNAUTHORIZED, error.to_string())
    };
    // the headers first: a caller without a subscription's id and signature gets nothing read
    let claim = intake
        .subscriptions
        .claim(header("Subscription-ID"), header("Notification-Signature"))
        .map_err(refused)?;
    let body = axum::body::to_bytes(body, intake.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than the intake takes",
            )
        })?;
    let subscription = claim.check(&body).map_err(refused)?;
    let context = Context {
        zones: &intake.zones,
        source: Some(&subscription.source),
        reference_time: now(),
    };
    let outcomes = Format::Dcsa.parse(&body, &context);
    let origin = format!(
        "dcsa callback {}",
        header("Subscription-ID").unwrap_or_default()
    );
    write(&state, intake, Format::Dcsa, &outcomes, &origin).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(head, path = "/v1/intake/dcsa/callback", tag = "intake",
    description = "A carrier checking the callback URL before it subscribes it: 204.",
    responses((status = 204, description = "the callback URL is served")))]
pub async fn dcsa_callback_check(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    enabled(&state)?;
    Ok(StatusCode::NO_CONTENT)
}
