//! IATA ONE Record (API 2.x, data model 3.x) under `/onerecord`, the read side for air
//! shipments: the server information, each air shipment's Waybill, Shipment and Piece and
//! their LogisticsEvents, as `application/ld+json` with the headers the API defines. kouan is a
//! read-only data holder: every write is `405`. Subscriptions are in
//! [`super::onerecord_subscriptions`]. Another shipper's object is not found, as in `/v1`.

use super::AppState;
use crate::auth::Caller;
use crate::record::StatusRecord;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use kouan_model::{Status, Timestamp};
use kouan_standards::onerecord::published::{self, ObjectKind, API, STATUS_CODES};
use serde_json::{json, Value};
use std::sync::Arc;

pub const CONTENT_TYPE: &str = "application/ld+json";
pub const API_VERSION: &str = "2.2.0";
pub const ONTOLOGY_VERSION: &str = "3.2.0";

/// A ONE Record error before the layer renders it: the status and each message.
#[derive(Debug, Clone)]
pub struct OneRecordError(pub StatusCode, pub String);

impl IntoResponse for OneRecordError {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Invalid query parameter request",
        401 => "Not authenticated or expired token",
        403 => "Not authorized to perform action",
        404 => "Resource not found",
        405 => "Method not allowed",
        415 => "Unsupported content type",
        _ => "Internal server error",
    }
}

/// Every `/onerecord` error answer as ONE Record's `api:Error` (JSON-LD, `hasCode` the HTTP
/// status), the token check's 401 and 403 and the router's 405 included.
pub async fn onerecord_layer(request: Request, next: Next) -> Response {
    let uri = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let message = match response.extensions().get::<OneRecordError>() {
        Some(error) => error.1.clone(),
        None => super::middleware::error_message(response).await.1,
    };
    let body = json!({
        "@context": {"api": API},
        "@type": "api:Error",
        "api:hasTitle": title(status),
        "api:hasErrorDetail": [{
            "@type": "api:ErrorDetail",
            "api:hasCode": status.as_u16().to_string(),
            "api:hasMessage": message,
            "api:hasResource": uri,
        }],
    });
    let mut answer = (status, body.to_string()).into_response();
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en-US"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    answer
}

/// The server's base IRI as the caller addressed it (`http://HOST/onerecord`).
pub fn base_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("http://{host}/onerecord")
}

fn http_date(at: Option<Timestamp>) -> HeaderValue {
    let at = at.unwrap_or_else(Timestamp::now).to_datetime();
    HeaderValue::from_str(
        &at.with_timezone(&chrono::Utc)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    )
    .expect("a date is a header value")
}

fn ld(value: &Value, headers: Vec<(HeaderName, HeaderValue)>) -> Response {
    let mut response = value.to_string().into_response();
    let map = response.headers_mut();
    map.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    map.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en-US"));
    for (name, value) in headers {
        map.insert(name, value);
    }
    response
}

/// `GET /onerecord/`: what this server is and speaks.
pub async fn server_information(headers: HeaderMap) -> Response {
    let base = base_of(&headers);
    let value = json!({
        "@context": {"cargo": kouan_standards::onerecord::CARGO, "api": API},
        "@id": format!("{base}/"),
        "@type": "api:ServerInformation",
        "api:hasDataHolder": {"@type": "cargo:Organization", "@id": format!("{base}/logistics-objects/kouan")},
        "api:hasServerEndpoint": base,
        "api:hasSupportedApiVersion": [API_VERSION],
        "api:hasSupportedContentType": [CONTENT_TYPE],
        "api:hasSupportedLanguage": ["en-US"],
        "api:hasSupportedOntology": [format!("https://onerecord.iata.org/ns/cargo/{ONTOLOGY_VERSION}"), format!("https://onerecord.iata.org/ns/api/{API_VERSION}")],
        "api:hasSupportedOntologyVersion": [format!("https://onerecord.iata.org/ns/cargo/{ONTOLOGY_VERSION}"), format!("https://onerecord.iata.org/ns/api/{API_VERSION}")],
    });
    ld(&value, vec![(header::LAST_MODIFIED, http_date(None))])
}

/// The air shipment a logistics object id names, when the caller may see it.
fn shipment_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(ObjectKind, Arc<StatusRecord>, Status), OneRecordError> {
    let not_found = || {
        OneRecordError(
            StatusCode::NOT_FOUND,
            format!("logistics object {id} not found"),
        )
    };
    let (kind, awb) = published::parse_object_id(id).ok_or_else(not_found)?;
    let record = state.store.get(awb).ok_or_else(not_found)?;
    if !caller.sees(record.shipper.as_deref()) {
        return Err(not_found());
    }
    let status = record.status();
    if !published::is_air(&status) {
        return Err(not_found());
    }
    Ok((kind, record, status))
}

/// `GET /onerecord/logistics-objects/{id}`
pub async fn logistics_object(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, OneRecordError> {
    let (kind, record, status) = shipment_of(&state, &caller, &id)?;
    let revision = record.version.max(1).to_string();
    let value = published::object(kind, &status, &base_of(&headers), record.version);
    Ok(ld(
        &value,
        vec![
            (
                HeaderName::from_static("type"),
                HeaderValue::from_str(&kind.type_iri()).expect("an IRI"),
            ),
            (
                HeaderName::from_static("revision"),
                HeaderValue::from_str(&revision).expect("digits"),
            ),
            (
                HeaderName::from_static("latest-revision"),
                HeaderValue::from_str(&revision).expect("digits"),
            ),
            (header::LAST_MODIFIED, http_date(record.updated_at)),
        ],
    ))
}

/// A time as ONE Record's filters give it: `20190926T075830Z`, or RFC 3339.
fn filter_time(name: &str, value: &str) -> Result<i64, OneRecordError> {
    chrono::NaiveDateTime::parse_from_str(value.trim_end_matches('Z'), "%Y%m%dT%H%M%S")
        .map(|t| t.and_utc().timestamp_millis())
        .ok()
        .filter(|_| value.ends_with('Z'))
        .or_else(|| Timestamp::parse(value).ok().map(|t| t.unix_millis()))
        .ok_or_else(|| {
            OneRecordError(
                StatusCode::BAD_REQUEST,
                format!(
                    "{name}: `{value}` is not a time (20190926T075830Z or RFC 3339 with an offset)"
                ),
            )
        })
}

/// `GET /onerecord/logistics-objects/{id}/logistics-events`
pub async fn logistics_events(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, OneRecordError> {
    let (kind, record, status) = shipment_of(&state, &caller, &id)?;
    let bad = |message: String| OneRecordError(StatusCode::BAD_REQUEST, message);
    let mut events = published::events(&status);
    let (mut skip, mut limit, mut sort) = (0usize, usize::MAX, None::<String>);
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*name {
            "event-code" => {
                let codes: Vec<String> = value
                    .split(',')
                    .map(|c| c.trim().trim_start_matches(STATUS_CODES).to_string())
                    .collect();
                events.retain(|e| codes.iter().any(|c| c == e.code));
            }
            "created-after" => { let at = filter_time(&name, &value)?; events.retain(|e| e.created.unix_millis() > at) }
            "created-before" => { let at = filter_time(&name, &value)?; events.retain(|e| e.created.unix_millis() < at) }
            "occurred-after" => { let at = filter_time(&name, &value)?; events.retain(|e| e.occurred.unix_millis() > at) }
            "occurred-before" => { let at = filter_time(&name, &value)?; events.retain(|e| e.occurred.unix_millis() < at) }
            "limit" | "skip" => {
                let n: usize = value.parse().map_err(|_| bad(format!("{name}: must be a non-negative integer")))?;
                if name == "limit" { limit = n } else { skip = n }
            }
            "sort" => match &*value {
                "ASC-creationDate" | "DESC-creationDate" | "ASC-eventDate" | "DESC-eventDate" => sort = Some(value.into_owned()),
                other => return Err(bad(format!("sort: `{other}` is not ASC-creationDate, DESC-creationDate, ASC-eventDate or DESC-eventDate"))),
            },
            other => return Err(bad(format!("{other}: unknown query parameter"))),
        }
    }
    match sort.as_deref() {
        Some("ASC-creationDate") => events.sort_by_key(|e| e.created.unix_millis()),
        Some("DESC-creationDate") => {
            events.sort_by_key(|e| std::cmp::Reverse(e.created.unix_millis()))
        }
        Some("DESC-eventDate") => {
            events.sort_by_key(|e| std::cmp::Reverse(e.occurred.unix_millis()))
        }
        _ => events.sort_by_key(|e| e.occurred.unix_millis()),
    }
    let total = events.len();
    let base = base_of(&headers);
    let object_iri = format!("{base}/logistics-objects/{id}");
    let items: Vec<Value> = events
        .iter()
        .skip(skip)
        .take(limit)
        .map(|e| e.to_json(&object_iri, kind))
        .collect();
    let value = json!({
        "@context": {"cargo": kouan_standards::onerecord::CARGO, "api": API},
        "@id": format!("{object_iri}/logistics-events"),
        "@type": "api:Collection",
        "api:hasTotalItems": total,
        "api:hasItem": items,
    });
    Ok(ld(
        &value,
        vec![(header::LAST_MODIFIED, http_date(record.updated_at))],
    ))
}

/// `GET /onerecord/logistics-objects/{id}/logistics-events/{eventId}`
pub async fn logistics_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path((id, event)): Path<(String, String)>,
) -> Result<Response, OneRecordError> {
    let (kind, record, status) = shipment_of(&state, &caller, &id)?;
    let object_iri = format!("{}/logistics-objects/{id}", base_of(&headers));
    let found = published::events(&status)
        .into_iter()
        .find(|e| e.slug == event)
        .ok_or_else(|| {
            OneRecordError(
                StatusCode::NOT_FOUND,
                format!("logistics event {event} not found"),
            )
        })?;
    let mut value = found.to_json(&object_iri, kind);
    value["@context"] = json!({"cargo": kouan_standards::onerecord::CARGO});
    Ok(ld(
        &value,
        vec![
            (
                HeaderName::from_static("type"),
                HeaderValue::from_static("https://onerecord.iata.org/ns/cargo#LogisticsEvent"),
            ),
            (header::LAST_MODIFIED, http_date(record.updated_at)),
        ],
    ))
}

/// Every write: kouan holds its logistics objects read-only (their truth is the events).
pub async fn read_only() -> OneRecordError {
    OneRecordError(
        StatusCode::METHOD_NOT_ALLOWED,
        "this server holds its logistics objects read-only: they are derived from the events its sources send".into(),
    )
}
