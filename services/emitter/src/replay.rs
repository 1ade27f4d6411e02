//! `kouan replay-dead-letters`: dead letters offered to the pipeline again — the late events the
//! processor dead-lettered (their payload is the event's protobuf form), once the operator has
//! raised `--retention` so that the horizon no longer turns them away.
//!
//! One pass over `kouan.deadletter` as it stands when it starts: every record whose reason starts
//! with the prefix asked for is published again to its event topic, keyed as any event. The
//! events are idempotent by (`source`, `eventId`) and version, so a record offered twice is a
//! redelivery; one the horizon still turns away comes back as a dead letter.

use crate::sink::EventSink;
use kouan_bus::headers::REJECT_REASON;
use kouan_bus::{BusError, Follower, Publisher, Topics};
use kouan_model::{protobuf, Event};
use rdkafka::message::{Headers, Message};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What [`replay`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Dead letters read.
    pub read: u64,
    /// Events published again.
    pub offered: u64,
    /// Dead letters whose reason matched but whose payload is not an event (raw input a reader
    /// rejected: it is the source's to send again, corrected).
    pub not_events: u64,
}

/// The event a dead letter offers again: its reason starts with `prefix` and its payload is an
/// event's protobuf form. `Err` when the reason matches but the payload is no event.
pub fn offered(reason: Option<&str>, payload: &[u8], prefix: &str) -> Option<Result<Event, ()>> {
    if !reason?.starts_with(prefix) {
        return None;
    }
    Some(protobuf::decode_event(payload).map_err(|_| ()))
}

/// Reads `kouan.deadletter` to its end as of now and publishes again the events of the dead
/// letters whose reason starts with `prefix`.
pub fn replay(
    brokers: &str,
    topics: &Topics,
    prefix: &str,
    cancel: &CancellationToken,
) -> Result<ReplaySummary, BusError> {
    let mut reader = Follower::from_beginning(
        brokers,
        "kouan-replay-dead-letters",
        &[topics.deadletter()],
        cancel,
    )?;
    let publisher = Publisher::new(brokers)?;
    let sink = EventSink::new(&publisher, topics);
    let mut summary = ReplaySummary::default();
    while !reader.caught_up() && !cancel.is_cancelled() {
        let Some(message) = reader.poll(Duration::from_millis(200)) else {
            continue;
        };
        summary.read += 1;
        let reason = message.headers().and_then(|headers| {
            headers
                .iter()
                .find(|header| header.key == REJECT_REASON)
                .and_then(|header| std::str::from_utf8(header.value?).ok())
        });
        match offered(reason, message.payload().unwrap_or_default(), prefix) {
            None => {}
            Some(Ok(event)) => {
                sink.publish(&event)?;
                summary.offered += 1;
            }
            Some(Err(())) => summary.not_events += 1,
        }
    }
    publisher.flush(Duration::from_secs(30))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_matching_dead_letters_holding_events_are_offered() {
        let line = include_str!("../../../examples/bookings.ndjson")
            .lines()
            .next()
            .unwrap();
        let event = kouan_model::ndjson::decode_line(line.as_bytes()).unwrap();
        let bytes = protobuf::encode_event(&event);
        let late = Some("late: conveyance T1 (transport): nothing reached its events");
        assert_eq!(
            offered(late, &bytes, "late: conveyance"),
            Some(Ok(event.clone()))
        );
        assert_eq!(offered(late, &bytes, "late: shipment"), None);
        assert_eq!(offered(None, &bytes, "late:"), None);
        assert_eq!(offered(late, b"UNB+garbage", "late:"), Some(Err(())));
    }
}
