//! Record headers written by kouan.

use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::Message;

/// On `kouan.deadletter`: why the record was rejected (`field: reason`).
pub const REJECT_REASON: &str = "kouan-reject-reason";
/// On `kouan.deadletter`: where the record came from (`file:line` or `topic/partition@offset`).
pub const REJECT_ORIGIN: &str = "kouan-reject-origin";

/// On `kouan.deadletter`, a notice of records lost to retention (no payload): how many.
pub const LOST_RECORDS: &str = "kouan-lost-records";

/// The headers of a dead letter: why it was rejected and where it came from.
pub fn rejection_headers(reason: &str, origin: &str) -> OwnedHeaders {
    OwnedHeaders::new()
        .insert(Header {
            key: REJECT_REASON,
            value: Some(reason),
        })
        .insert(Header {
            key: REJECT_ORIGIN,
            value: Some(origin),
        })
}

/// On `kouan.status`: the publishing processor's event-time watermark when it wrote the record
/// (decimal Unix milliseconds) — how far the pipeline has got in event time. The alerter and the
/// query service take their "now" from it while the pipeline is behind (see
/// [`crate::event_clock`]).
pub const WATERMARK: &str = "kouan-watermark";

/// The headers of a status record published at `watermark_millis`.
pub fn watermark_headers(watermark_millis: i64) -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: WATERMARK,
        value: Some(watermark_millis.to_string().as_bytes()),
    })
}

/// The watermark a record carries; `None` when it has none (or one that is not a number: written
/// by something else, ignored rather than trusted).
pub fn watermark_of(message: &impl Message) -> Option<i64> {
    let headers = message.headers()?;
    headers
        .iter()
        .filter(|header| header.key == WATERMARK)
        .filter_map(|header| std::str::from_utf8(header.value?).ok()?.parse::<i64>().ok())
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::OwnedMessage;
    use rdkafka::Timestamp;

    fn message(headers: Option<OwnedHeaders>) -> OwnedMessage {
        OwnedMessage::new(
            None,
            None,
            "t".into(),
            Timestamp::NotAvailable,
            0,
            0,
            headers,
        )
    }

    #[test]
    fn a_watermark_reads_back_and_garbage_is_ignored() {
        assert_eq!(
            watermark_of(&message(Some(watermark_headers(1_700_000_000_123)))),
            Some(1_700_000_000_123)
        );
        assert_eq!(watermark_of(&message(None)), None);
        let garbage = OwnedHeaders::new().insert(Header {
            key: WATERMARK,
            value: Some(b"soon".as_slice()),
        });
        assert_eq!(watermark_of(&message(Some(garbage))), None);
    }
}
