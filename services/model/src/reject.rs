//! Why an input was rejected. Every rejection names the field (a JSON path such as
//! `equipment.transport.reference`, or `(json)`/`(protobuf)` when the input is not even that)
//! and the reason.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Reject {
    /// JSON path of the offending field in the NDJSON form.
    pub field: String,
    pub reason: String,
}

impl Reject {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Reject {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn missing(field: impl Into<String>) -> Self {
        Reject::new(field, "is required")
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}
