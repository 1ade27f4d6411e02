//! DCSA Track & Trace 2.2 under `/dcsa/tnt/v2`: the events of the caller's shipments as DCSA
//! defines them (`docs/standards/dcsa-out.md`), with DCSA's paging headers, `API-Version` and
//! error body. The subscriptions are in [`super::dcsa_subscriptions`].

use super::AppState;
use crate::auth::Caller;
use crate::dcsa::cursor::{Anchor, Cursor, Order};
use crate::dcsa::filter::{created_comparison, EventFilter, FilterError, FILTER_PARAMETERS};
use crate::dcsa::Page;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

/// The version of DCSA's T&T API served.
pub const API_VERSION: &str = "2.2.0";

/// Events per page when the request names no `limit` (DCSA's default), and the most a page
/// holds (a larger `limit` gets this many, with a `Next-Page`).
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

const EVENTS_PATH: &str = "/dcsa/tnt/v2/events";

/// A DCSA error answer before the layer adds the request's method and URI: the status and
/// each (reason, message).
#[derive(Debug, Clone)]
pub struct DcsaError(pub StatusCode, pub Vec<(String, String)>);

impl DcsaError {
    pub fn bad_request(parameter: &str, message: impl std::fmt::Display) -> Self {
        DcsaError(
            StatusCode::BAD_REQUEST,
            vec![("invalidQuery".into(), format!("{parameter}: {message}"))],
        )
    }

    pub fn not_found(what: &str) -> Self {
        DcsaError(
            StatusCode::NOT_FOUND,
            vec![("notFound".into(), format!("{what} not found"))],
        )
    }
}

impl From<FilterError> for DcsaError {
    fn from(error: FilterError) -> Self {
        DcsaError::bad_request(&error.parameter, error.message)
    }
}

impl IntoResponse for DcsaError {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Every `/dcsa` answer carries `API-Version`; every error answer is DCSA's error body (the
/// handlers' [`DcsaError`]s, and the 401s and 403s of the token check, whose message is kept).
/// A request naming another major version in `API-Version` is refused.
pub async fn dcsa_layer(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let asked = request
        .headers()
        .get("api-version")
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let mut response = match asked {
        Some(asked) if !is_major_2(&asked) => DcsaError(
            StatusCode::BAD_REQUEST,
            vec![(
                "invalidInput".into(),
                format!("API-Version: `{asked}` is not this API's major version 2"),
            )],
        )
        .into_response(),
        _ => next.run(request).await,
    };
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let errors = match response.extensions().get::<DcsaError>() {
            Some(error) => error.1.clone(),
            None => {
                let (parts, message) = super::middleware::error_message(response).await;
                let reason = match parts.status {
                    StatusCode::UNAUTHORIZED => "unauthorized",
                    StatusCode::FORBIDDEN => "forbidden",
                    StatusCode::NOT_FOUND => "notFound",
                    StatusCode::METHOD_NOT_ALLOWED => "methodNotAllowed",
                    StatusCode::PAYLOAD_TOO_LARGE => "payloadTooLarge",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupportedMediaType",
                    s if s.is_server_error() => "internalError",
                    _ => "invalidInput",
                };
                response = Response::from_parts(parts, axum::body::Body::empty());
                vec![(reason.to_string(), message)]
            }
        };
        let body = serde_json::json!({
            "httpMethod": method,
            "requestUri": uri,
            "errors": errors
                .iter()
                .map(|(reason, message)| serde_json::json!({"reason": reason, "message": message}))
                .collect::<Vec<_>>(),
            "statusCode": status.as_u16(),
            "statusCodeText": status.canonical_reason().unwrap_or("Error"),
            "errorDateTime": kouan_model::Timestamp::now().to_rfc3339(),
        });
        let (mut parts, _) = response.into_parts();
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        response = Response::from_parts(parts, axum::body::Body::from(body.to_string()));
    }
    response.headers_mut().insert(
        HeaderName::from_static("api-version"),
        HeaderValue::from_static(API_VERSION),
    );
    response
}

/// `2`, `2.x` or `2.x.y`: the version this API is.
fn is_major_2(asked: &str) -> bool {
    let mut parts = asked.split('.');
    parts.next() == Some("2")
        && parts.clone().count() <= 2
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The request's query pairs, each name once (`eventCreatedDateTime`'s forms are names of
/// their own).
fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, DcsaError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(DcsaError::bad_request(&name, "is given more than once"));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// The filter of `params` (filter parameters only).
pub fn filter_of(params: &[(String, String)]) -> Result<EventFilter, DcsaError> {
    let mut filter = EventFilter::default();
    for (name, value) in params {
        filter.set(name, value)?;
    }
    Ok(filter)
}

fn order_of(sort: Option<&str>) -> Result<Order, DcsaError> {
    let Some(sort) = sort else {
        return Ok(Order::Ascending);
    };
    let (field, direction) = sort.split_once(':').unwrap_or((sort, "ASC"));
    if field != "eventCreatedDateTime" {
        return Err(DcsaError::bad_request(
            "sort",
            format!("events sort by `eventCreatedDateTime` only, not `{field}`"),
        ));
    }
    match direction {
        "ASC" => Ok(Order::Ascending),
        "DESC" => Ok(Order::Descending),
        other => Err(DcsaError::bad_request(
            "sort",
            format!("`{other}` is neither ASC nor DESC"),
        )),
    }
}

/// The cursor a request asks for: the one it sends, or a first page of its own parameters.
fn cursor_of(pairs: Vec<(String, String)>) -> Result<Cursor, DcsaError> {
    let mut limit = None;
    let mut sort = None;
    let mut given = None;
    let mut params = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                let parsed: i64 = value
                    .parse()
                    .map_err(|_| DcsaError::bad_request("limit", "must be an integer"))?;
                if parsed < 1 || parsed > i64::from(i32::MAX) {
                    return Err(DcsaError::bad_request(
                        "limit",
                        "must be at least 1 (and an int32)",
                    ));
                }
                limit = Some((parsed as usize).min(MAX_LIMIT));
            }
            "sort" => sort = Some(value),
            "cursor" => given = Some(value),
            _ if FILTER_PARAMETERS.contains(&name.as_str())
                || created_comparison(&name).is_some() =>
            {
                params.push((name, value))
            }
            _ => return Err(DcsaError::bad_request(&name, "unknown parameter")),
        }
    }
    match given {
        Some(text) => {
            if !params.is_empty() || sort.is_some() {
                return Err(DcsaError::bad_request(
                    "cursor",
                    "carries the query it pages through; send it without filters or sort",
                ));
            }
            let mut cursor =
                Cursor::decode(&text).map_err(|why| DcsaError::bad_request("cursor", why))?;
            if let Some(limit) = limit {
                cursor.limit = limit;
            }
            cursor.limit = cursor.limit.clamp(1, MAX_LIMIT);
            Ok(cursor)
        }
        None => Ok(Cursor {
            params,
            order: order_of(sort.as_deref())?,
            anchor: Anchor::After(None),
            limit: limit.unwrap_or(DEFAULT_LIMIT),
        }),
    }
}

fn link(cursor: Cursor) -> HeaderValue {
    HeaderValue::from_str(&format!("{EVENTS_PATH}?cursor={}", cursor.encode()))
        .expect("a cursor is URL-safe base64")
}

fn paging_headers(cursor: &Cursor, page: &Page, headers: &mut HeaderMap) {
    let at = |anchor| Cursor {
        anchor,
        ..cursor.clone()
    };
    headers.insert("current-page", link(cursor.clone()));
    if page.more_after {
        if let Some(last) = &page.last {
            headers.insert("next-page", link(at(Anchor::After(Some(*last)))));
        }
    }
    if page.more_before {
        if let Some(first) = &page.first {
            headers.insert("prev-page", link(at(Anchor::Before(Some(*first)))));
        }
        headers.insert("first-page", link(at(Anchor::After(None))));
    }
    if page.more_after {
        headers.insert("last-page", link(at(Anchor::Before(None))));
    }
}

/// `GET /dcsa/tnt/v2/events`
pub async fn events(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, DcsaError> {
    let cursor = cursor_of(pairs(query.as_deref())?)?;
    let filter = filter_of(&cursor.params)?;
    let page =
        state
            .store
            .dcsa()
            .page(&filter, &caller, cursor.order, &cursor.anchor, cursor.limit);
    let events = crate::dcsa::render(&state.store, &page.events);
    let mut headers = HeaderMap::new();
    paging_headers(&cursor, &page, &mut headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((headers, serde_json::Value::Array(events).to_string()).into_response())
}

/// `GET /dcsa/tnt/v2/events/{eventID}` (deprecated by DCSA, served as it defines it): the latest
/// version of the event among the caller's shipments; another shipper's event is not found.
pub async fn event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(event_id): Path<String>,
) -> Result<Response, DcsaError> {
    let found = state.store.dcsa().get(&event_id, &caller);
    let event = found
        .and_then(|found| crate::dcsa::render(&state.store, &[found]).pop())
        .ok_or_else(|| DcsaError::not_found(&format!("event {event_id}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        event.to_string(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_travels_alone_and_unknown_parameters_are_refused() {
        let cursor = cursor_of(vec![
            ("eventType".into(), "EQUIPMENT".into()),
            ("limit".into(), "5000".into()),
            ("sort".into(), "eventCreatedDateTime:DESC".into()),
        ])
        .unwrap();
        assert_eq!(cursor.limit, MAX_LIMIT);
        assert_eq!(cursor.order, Order::Descending);
        let again = cursor_of(vec![("cursor".into(), cursor.encode())]).unwrap();
        assert_eq!(again, cursor);
        assert!(cursor_of(vec![
            ("cursor".into(), cursor.encode()),
            ("eventType".into(), "SHIPMENT".into())
        ])
        .is_err());
        assert!(cursor_of(vec![("shipper".into(), "x".into())]).is_err());
        assert!(cursor_of(vec![("limit".into(), "0".into())]).is_err());
        assert!(cursor_of(vec![("sort".into(), "eventDateTime:ASC".into())]).is_err());
        assert!(pairs(Some("limit=1&limit=2")).is_err());
    }
}
