//! The records of the processor's internal topics (see the runner for who writes them):
//!
//! - `kouan.internal.by-shipment`: key `E<source>\0<eventId>`, value the event (protobuf), placed
//!   in the partition of the shipment it names; a tombstone once the shipment is forgotten.
//! - `kouan.internal.shared`: key `E<source>\0<eventId>` for equipment and transport events
//!   (tombstoned once no remembered shipment can reach their container or conveyance), and key
//!   `L<shipmentId>` for a shipment's [`Links`], written by its owner.
//!
//! Keys name an event's identity, not its version, so compaction keeps one version per event:
//! writers make sure the last one written is the counted one (see the runner).

use kouan_model::Event;

const EVENT: u8 = b'E';
const LINKS: u8 = b'L';

/// The key of an event's record: its identity.
pub fn event_key(event: &Event) -> Vec<u8> {
    identity_key(&event.source, &event.event_id)
}

/// [`event_key`] of the event (`source`, `event_id`).
pub fn identity_key(source: &str, event_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + source.len() + event_id.len());
    key.push(EVENT);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key.extend_from_slice(event_id.as_bytes());
    key
}

/// The key of a shipment's links record.
pub fn links_key(shipment_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + shipment_id.len());
    key.push(LINKS);
    key.extend_from_slice(shipment_id.as_bytes());
    key
}

/// What a key of an internal topic names.
#[derive(Debug, PartialEq, Eq)]
pub enum Key<'a> {
    Event { source: &'a str, event_id: &'a str },
    Links { shipment_id: &'a str },
}

pub fn parse_key(key: &[u8]) -> Option<Key<'_>> {
    let (kind, rest) = key.split_first()?;
    let rest = std::str::from_utf8(rest).ok()?;
    match *kind {
        EVENT => {
            let (source, event_id) = rest.split_once('\0')?;
            Some(Key::Event { source, event_id })
        }
        LINKS => Some(Key::Links { shipment_id: rest }),
        _ => None,
    }
}

/// A shipment's links as its owner knows them, for the instances that do not own it: which
/// containers (from its bookings) and flights (from its AWB's events) it can reach, or that it
/// was forgotten under the retention rule (so later events naming it are not applied anywhere).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Links {
    #[prost(string, repeated, tag = "1")]
    pub units: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub flights: Vec<String>,
    #[prost(bool, tag = "3")]
    pub forgotten: bool,
    /// The earliest event time (Unix ms) of the shipment's own events: none of its windows on a
    /// container starts earlier, except at a STUF naming it (read by every instance), so the
    /// history before it may go once old enough ([`crate::engine::Engine::trim_history`]).
    /// Absent in records written before kouan told it: such a shipment keeps its containers'
    /// history until its owner writes its links again.
    #[prost(int64, optional, tag = "4")]
    pub since_millis: Option<i64>,
    /// A forgotten shipment's finish (Unix ms), which the dead letters of its late events name.
    /// Absent in records written before kouan kept it.
    #[prost(int64, optional, tag = "5")]
    pub finished_millis: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn keys_round_trip() {
        let event = kouan_model::ndjson::decode_line(
            br#"{"eventId":"e-1","source":"zz-rail","eventTime":"2026-11-01T08:00:00+08:00","transport":{"type":"DEPARTED","mode":"RAIL","reference":"X8001-20261101"}}"#,
        )
        .unwrap();
        assert_eq!(
            parse_key(&event_key(&event)),
            Some(Key::Event {
                source: "zz-rail",
                event_id: "e-1"
            })
        );
        assert_eq!(
            parse_key(&links_key("ZZHH2600000001")),
            Some(Key::Links {
                shipment_id: "ZZHH2600000001"
            })
        );
        assert_eq!(parse_key(b""), None);
        assert_eq!(parse_key(b"Xabc"), None);
        assert_eq!(parse_key(b"Eno-separator"), None);
    }

    #[test]
    fn links_round_trip() {
        let links = Links {
            units: vec!["CSQU3054383".into()],
            flights: vec![],
            forgotten: false,
            since_millis: Some(1_763_568_000_000),
            finished_millis: None,
        };
        assert_eq!(
            Links::decode(links.encode_to_vec().as_slice()).unwrap(),
            links
        );
    }
}
