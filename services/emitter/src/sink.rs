//! Publishing events and rejections with the topics and keys of API.md.

use kouan_bus::{BusError, Publisher, Topics};
use kouan_model::{protobuf, BodyKind, Event, Reject};

/// Publishes events to `<namespace>.events.<kind>` keyed by the body's natural id.
pub struct EventSink<'a> {
    pub publisher: &'a Publisher,
    pub topics: &'a Topics,
    event_topics: [String; 5],
    deadletter: String,
}

impl<'a> EventSink<'a> {
    pub fn new(publisher: &'a Publisher, topics: &'a Topics) -> Self {
        EventSink {
            publisher,
            topics,
            event_topics: kouan_model::BodyKind::ALL.map(|kind| topics.events(kind)),
            deadletter: topics.deadletter(),
        }
    }

    /// Queues one event, waiting while the producer queue is full.
    pub fn publish(&self, event: &Event) -> Result<(), BusError> {
        self.publish_encoded(&EncodedEvent::new(event))
    }

    /// Queues an event encoded beforehand (on another thread, say), waiting while the producer
    /// queue is full.
    pub fn publish_encoded(&self, event: &EncodedEvent) -> Result<(), BusError> {
        let topic = &self.event_topics[event.kind as usize];
        self.publisher
            .send(topic, Some(event.key.as_bytes()), &event.payload, None)
    }

    /// Sends rejected bytes to the dead-letter topic with the reason and origin in headers.
    pub fn reject(&self, raw: &[u8], reject: &Reject, origin: &str) -> Result<(), BusError> {
        let reason = reject.to_string();
        self.publisher.send(
            &self.deadletter,
            None,
            raw,
            Some(rejection_headers(&reason, origin)),
        )
    }
}

/// An event as it goes on the wire: its topic's kind, its key and its protobuf payload. Encoding
/// needs no producer, so it can run beside the thread that publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    pub kind: BodyKind,
    pub key: String,
    pub payload: Vec<u8>,
}

impl EncodedEvent {
    pub fn new(event: &Event) -> Self {
        EncodedEvent {
            kind: event.kind(),
            key: event.body.natural_key().to_owned(),
            payload: protobuf::encode_event(event),
        }
    }
}

pub use kouan_bus::headers::rejection_headers;
