//! The error answer of API.md: a status code and `{"error": "…"}` naming the parameter at fault.

use crate::error::QueryError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        self.0
    }

    /// The message, as the answer says it (the standards' surfaces put it in their own body).
    pub fn into_message(self) -> String {
        self.1
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&super::answers::ErrorAnswer { error: self.1 })
            .expect("strings always serialize");
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
            QueryError::Quota(_) => StatusCode::TOO_MANY_REQUESTS,
            // the broker is away or refused: say so, not what it said
            QueryError::Bus(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(%error, "request failed on the broker");
            return ApiError(status, "the broker is not available; try again".into());
        }
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "request failed");
        }
        ApiError(status, error.to_string())
    }
}
