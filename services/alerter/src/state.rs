//! The alerter's own state, as records of its compacted changelog `kouan.internal.alerter`, so a
//! restart restores what the alerter knew instead of re-reading every status ever published.
//!
//! Three kinds of record, by key:
//! - `s/<shipment>`: a shipment under watch — its episodes, the episodes judged over and the
//!   dwells learned (each counts once), its open alerts. A tombstone once the shipment is finished
//!   with nothing open: what the changelog holds is proportional to the shipments under way.
//! - `b/<node>/<mode>/<stage>`: a baseline's window of completed dwells (start, end), in the
//!   order learned; replayed through [`Baselines::observe`](crate::baseline::Baselines::observe)
//!   it is the same baseline. Bounded by the keys times the window.
//! - `p/<partition>`: the next `kouan.status` offset to read in that partition and the
//!   partition's watermark, written in the same transaction as the state and the alerts they
//!   produced, so the three never disagree.

use kouan_model::{pb, Alert, AlertKind};

/// The changelog key of a shipment's record.
pub fn shipment_key(shipment_id: &str) -> String {
    format!("s/{shipment_id}")
}

/// The changelog key of a baseline's record.
pub fn baseline_key((node, mode, stage): &crate::baseline::BaselineKey) -> String {
    format!("b/{node}/{mode}/{stage}")
}

/// The changelog key of a status partition's position.
pub fn position_key(partition: i32) -> String {
    format!("p/{partition}")
}

/// What a changelog key names.
#[derive(Debug, PartialEq, Eq)]
pub enum Key<'a> {
    Shipment(&'a str),
    Baseline,
    Position(i32),
}

pub fn parse_key(key: &str) -> Option<Key<'_>> {
    let (kind, rest) = key.split_once('/')?;
    match kind {
        "s" => Some(Key::Shipment(rest)),
        "b" => Some(Key::Baseline),
        "p" => rest.parse().ok().map(Key::Position),
        _ => None,
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EpisodeRecord {
    #[prost(string, tag = "1")]
    pub kind: String,
    #[prost(string, tag = "2")]
    pub node: String,
    #[prost(string, tag = "3")]
    pub stage: String,
    #[prost(int64, tag = "4")]
    pub since: i64,
    #[prost(int64, optional, tag = "5")]
    pub until: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ShipmentRecord {
    #[prost(string, optional, tag = "1")]
    pub shipper: Option<String>,
    #[prost(string, tag = "2")]
    pub mode: String,
    #[prost(bool, tag = "3")]
    pub finished: bool,
    #[prost(int32, tag = "4")]
    pub partition: i32,
    #[prost(message, repeated, tag = "5")]
    pub episodes: Vec<EpisodeRecord>,
    #[prost(message, repeated, tag = "6")]
    pub judged: Vec<EpisodeRecord>,
    #[prost(message, repeated, tag = "7")]
    pub learned: Vec<EpisodeRecord>,
    #[prost(message, repeated, tag = "8")]
    pub open: Vec<pb::Alert>,
    /// Whether the fields above (shipper to episodes) are the shipment's latest record; false for
    /// one that is only remembered for its alerts.
    #[prost(bool, tag = "9")]
    pub watched: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DwellSample {
    #[prost(int64, tag = "1")]
    pub start: i64,
    #[prost(int64, tag = "2")]
    pub end: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BaselineRecord {
    #[prost(string, tag = "1")]
    pub node: String,
    #[prost(string, tag = "2")]
    pub mode: String,
    #[prost(string, tag = "3")]
    pub stage: String,
    #[prost(message, repeated, tag = "4")]
    pub samples: Vec<DwellSample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PositionRecord {
    /// The next offset of the partition to read.
    #[prost(int64, tag = "1")]
    pub next_offset: i64,
    /// The partition's event-time watermark when that offset was reached (0: none yet).
    #[prost(int64, tag = "2")]
    pub watermark: i64,
}

/// A record that cannot be read back into state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("undecodable alerter state record: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("alerter state record: field {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// An episode identity as the alerter keys it (kind, node, stage, since).
pub type EpisodeKey = (AlertKind, String, String, i64);

pub fn key_to_record((kind, node, stage, since): &EpisodeKey) -> EpisodeRecord {
    EpisodeRecord {
        kind: kind.code().to_string(),
        node: node.clone(),
        stage: stage.clone(),
        since: *since,
        until: None,
    }
}

pub fn kind_of(record: &EpisodeRecord) -> Result<AlertKind, StateError> {
    AlertKind::from_code(&record.kind).ok_or_else(|| StateError::Invalid {
        field: "kind",
        reason: format!("unknown alert kind {:?}", record.kind),
    })
}

pub fn record_to_key(record: &EpisodeRecord) -> Result<EpisodeKey, StateError> {
    Ok((
        kind_of(record)?,
        record.node.clone(),
        record.stage.clone(),
        record.since,
    ))
}

pub fn alert_of(record: pb::Alert) -> Result<Alert, StateError> {
    Alert::from_proto(record).map_err(|reject| StateError::Invalid {
        field: "open",
        reason: reject.to_string(),
    })
}
