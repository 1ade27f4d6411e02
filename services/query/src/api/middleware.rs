//! The layers every request passes: bearer-token authentication on `/v1` (the caller travels to
//! the handler and back out on the response, for the audit line), and one audit line plus the
//! request metrics per request.

use super::error::ApiError;
use super::AppState;
use crate::auth::Caller;
use crate::metrics::{RequestLabels, RouteLabels};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The SQL text of a request, handed by the SQL handler to the audit line.
#[derive(Clone)]
pub struct AuditSql(pub String);

/// The token of an `Authorization` value: the `Bearer` scheme, its name case-insensitive
/// (RFC 7235).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Bearer-token check: 401 without a known token. The caller goes to the handler as a request
/// extension and comes back on the response for [`audit`].
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let Some(token) = token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing bearer token: send `Authorization: Bearer TOKEN`",
        ));
    };
    let Some(caller) = state.auth.caller(token).cloned() else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"));
    };
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(caller);
    Ok(response)
}

/// One structured line per request, and the request metrics.
pub async fn audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
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

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
