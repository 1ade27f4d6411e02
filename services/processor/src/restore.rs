//! Restoring state from the processor's compacted topics, in time proportional to live state:
//! the shared table (every instance, whole) and one owned partition's shipments with what
//! `kouan.status` holds for them.

use crate::affected::Affected;
use crate::changelog::{parse_key, Key, Links};
use crate::engine::{reported_millis, Engine};
use kouan_model::status_wire::digest_of_record;
use kouan_model::{pb, Event, Reject};
use prost::Message as _;
use rdkafka::message::BorrowedMessage;
use rdkafka::Message;
use std::collections::HashMap;

/// What `kouan.status` holds for one shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub version: u64,
    /// `None` after a tombstone.
    pub digest: Option<u64>,
}

/// The Kafka timestamp of a record, or `None` when it has none.
pub fn timestamp_of(message: &impl Message) -> Option<i64> {
    message.timestamp().to_millis()
}

/// Applies one record of `kouan.internal.by-shipment` to the engine, adding the shipments it may
/// have changed to `affected`. Tombstones (forgotten shipments) carry nothing.
pub fn apply_by_shipment(
    engine: &mut Engine,
    message: &impl Message,
    affected: &mut impl Affected,
) {
    let Some(payload) = message.payload() else {
        return;
    };
    match engine.decode(payload) {
        Ok(event) => {
            let recorded = timestamp_of(message).unwrap_or(event.recorded_time().unix_millis());
            engine.apply_recorded(event, recorded, affected);
        }
        Err(reject) => tracing::warn!(
            %reject,
            partition = message.partition(),
            offset = message.offset(),
            "undecodable record on the by-shipment topic"
        ),
    }
}

/// What one record of the shared table did.
pub enum SharedChange {
    /// An equipment or transport event version was applied (or was a redelivery); with the event
    /// time it reports (see [`crate::engine::reported_millis`]).
    Event {
        reported: Option<i64>,
    },
    /// An older version of an event than the counted one, which is given.
    Stale {
        winner: std::sync::Arc<kouan_model::Event>,
        reported: Option<i64>,
    },
    /// A shipment was forgotten by its owner: the events the engine let go of with it.
    Forgotten(crate::engine::Forgotten),
    Other,
}

/// Applies one record of `kouan.internal.shared` to the engine.
pub fn apply_shared(
    engine: &mut Engine,
    message: &impl Message,
    affected: &mut impl Affected,
) -> SharedChange {
    let event = decode_shared_event(engine, message);
    apply_shared_decoded(engine, message, event, affected)
}

/// The event a shared record carries, decoded (`None` for links and tombstones).
pub fn decode_shared_event(
    engine: &mut Engine,
    message: &impl Message,
) -> Option<Result<Event, Reject>> {
    match message.key().and_then(parse_key)? {
        Key::Event { .. } => Some(engine.decode(message.payload()?)),
        Key::Links { .. } => None,
    }
}

/// [`apply_shared`] with the record's event already decoded ([`decode_shared_event`]).
pub fn apply_shared_decoded(
    engine: &mut Engine,
    message: &impl Message,
    decoded: Option<Result<Event, Reject>>,
    affected: &mut impl Affected,
) -> SharedChange {
    let Some(key) = message.key().and_then(parse_key) else {
        return SharedChange::Other;
    };
    match (key, message.payload()) {
        (Key::Event { .. }, Some(_)) => match decoded.unwrap_or_else(|| {
            Err(Reject::new(
                "(protobuf)",
                "the event was not decoded".to_string(),
            ))
        }) {
            Ok(event) => {
                let recorded = timestamp_of(message).unwrap_or(event.recorded_time().unix_millis());
                let reported = reported_millis(&event, recorded);
                if !engine.is_news(&event) {
                    return match engine.winner_of(&event) {
                        Some(winner) if *winner != event => {
                            SharedChange::Stale { winner, reported }
                        }
                        _ => SharedChange::Event { reported },
                    };
                }
                engine.apply_recorded(event, recorded, affected);
                SharedChange::Event { reported }
            }
            Err(reject) => {
                tracing::warn!(%reject, offset = message.offset(), "undecodable shared event");
                SharedChange::Other
            }
        },
        (Key::Event { source, event_id }, None) => {
            engine.remove_shared(source, event_id);
            SharedChange::Other
        }
        (Key::Links { shipment_id }, Some(payload)) => match Links::decode(payload) {
            Ok(links) if links.forgotten => {
                SharedChange::Forgotten(engine.forget(shipment_id, links.finished_millis))
            }
            Ok(links) => {
                engine.link(
                    shipment_id,
                    &links.units,
                    &links.flights,
                    links.since_millis,
                );
                SharedChange::Other
            }
            Err(error) => {
                tracing::warn!(%error, shipment_id, "undecodable links record");
                SharedChange::Other
            }
        },
        (Key::Links { .. }, None) => SharedChange::Other,
    }
}

/// The event time a record's decoded event reports ([`reported_millis`]) without applying it:
/// `None` for links, tombstones and what could not be decoded.
pub fn event_reported(
    message: &impl Message,
    decoded: &Option<Result<Event, Reject>>,
) -> Option<i64> {
    let event = decoded.as_ref()?.as_ref().ok()?;
    let recorded = timestamp_of(message).unwrap_or(event.recorded_time().unix_millis());
    reported_millis(event, recorded)
}

/// Learns what one `kouan.status` record says was published.
pub fn learn_published(published: &mut HashMap<String, Published>, message: &BorrowedMessage<'_>) {
    let Some(key) = message.key().and_then(|key| std::str::from_utf8(key).ok()) else {
        return;
    };
    let entry = match message.payload() {
        None => Published {
            version: published.get(key).map_or(0, |p| p.version),
            digest: None,
        },
        Some(payload) => match pb::ShipmentStatus::decode(payload) {
            Ok(record) => Published {
                version: record.version,
                digest: Some(digest_of_record(record)),
            },
            Err(error) => {
                tracing::warn!(%error, key, "undecodable status record");
                return;
            }
        },
    };
    match published.get(key) {
        Some(current) if current.version > entry.version => {}
        _ => {
            published.insert(key.to_string(), entry);
        }
    }
}
