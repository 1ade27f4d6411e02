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
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The SQL text of a request, handed by the SQL handler to the audit line.
#[derive(Clone)]
pub struct AuditSql(pub String);

/// SQL text kept in an audit line, bytes; the line also carries the whole text's length and
/// SHA-256, so a long query is identified without filling the log.
pub const AUDIT_SQL_BYTES: usize = 1024;

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The token of an `Authorization` value: the `Bearer` scheme, its name case-insensitive
/// (RFC 7235).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The caller a request's bearer token names; 401 without a known one.
fn caller_of(state: &AppState, request: &Request) -> Result<Caller, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing bearer token: send `Authorization: Bearer TOKEN`",
            )
        })?;
    state
        .auth
        .caller(token)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"))
}

/// Bearer-token check: 401 without a known token, 403 for a producer's (which reads nothing).
/// The caller goes to the handler as a request extension and comes back on the response for
/// [`audit`].
pub async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = caller_of(&state, &request)?;
    if caller.is_producer() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a producer's token only publishes events (POST /v1/intake/{format})",
        ));
    }
    pass(caller, request, next).await
}

/// The intake's bearer-token check: 401 without a known token; the handler refuses any token
/// but a producer's.
pub async fn authenticate_producer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = caller_of(&state, &request)?;
    pass(caller, request, next).await
}

async fn pass(caller: Caller, mut request: Request, next: Next) -> Result<Response, ApiError> {
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(caller);
    Ok(response)
}

/// `/metrics` behind `--protect-metrics`: an operator's token, as for the API (401 without a
/// known token, 403 for a shipper's).
pub async fn operator_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !caller_of(&state, &request)?.is_operator() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "metrics are for operators only",
        ));
    }
    Ok(next.run(request).await)
}

/// An error answer's message and its parts: the `error` of kouan's JSON body, else the text,
/// else the status's reason — for the layers that answer errors in a standard's own body.
pub async fn error_message(response: Response) -> (axum::http::response::Parts, String) {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or(text);
    let message = if message.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_lowercase()
    } else {
        message
    };
    (parts, message)
}

/// Every error answer in API.md's JSON form: the answers axum writes itself (a body over the
/// limit: 413, a wrong method: 405, …) are plain text; their text becomes `{"error": …}`.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            essence == "application/json" || essence.ends_with("+json")
        });
    if !response.status().is_client_error() && !response.status().is_server_error() || is_json {
        return response;
    }
    let (parts, message) = error_message(response).await;
    let mut answer = ApiError::new(parts.status, message).into_response();
    // keep what the layers below attached (the caller for the audit line)
    *answer.extensions_mut() = parts.extensions;
    answer
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
    let (sql_text, sql_bytes, sql_sha256) = match sql {
        Some(sql) => (
            Some(cut(sql, AUDIT_SQL_BYTES)),
            Some(sql.len()),
            Some(sha256_hex(sql)),
        ),
        None => (None, None, None),
    };
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
            sql = sql_text,
            sql_bytes,
            sql_sha256,
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
    fn audited_sql_is_cut_at_a_character_boundary() {
        let long = "é".repeat(1000);
        let kept = super::cut(&long, super::AUDIT_SQL_BYTES);
        assert!(kept.len() <= super::AUDIT_SQL_BYTES && long.starts_with(kept));
        assert_eq!(super::cut("SELECT 1", 1024), "SELECT 1");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
