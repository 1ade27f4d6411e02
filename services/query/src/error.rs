//! Errors of the store and the query service.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("auth file line {line}: {reason}")]
    AuthFile { line: usize, reason: String },
    #[error("record field `{field}`: {reason}")]
    Record { field: String, reason: String },
    #[error("sql: {0}")]
    Sql(String),
    #[error("sql: {0}")]
    NotAQuery(String),
    #[error("sql: query took longer than {0:?}")]
    SqlTimeout(Duration),
    #[error("sql: query needs more memory than allowed: {0}")]
    SqlResources(String),
    #[error("{field}: {reason}")]
    BadRequest { field: String, reason: String },
    /// A limit of the caller's reached (subscriptions, concurrent queries).
    #[error("{0}")]
    Quota(String),
    #[error(transparent)]
    Bus(#[from] kouan_bus::BusError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl From<kouan_model::Reject> for QueryError {
    /// A record read from a topic that does not hold; the field names the culprit.
    fn from(reject: kouan_model::Reject) -> Self {
        QueryError::Record {
            field: reject.field,
            reason: reject.reason,
        }
    }
}

impl QueryError {
    pub fn bad(field: &str, reason: impl Into<String>) -> Self {
        QueryError::BadRequest {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}
