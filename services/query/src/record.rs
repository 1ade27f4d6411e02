//! One shipment's latest status record as the store keeps it: the record once, in the protobuf
//! form it was read in, plus the few typed facts the indexes, lists and network view read. The
//! JSON answer and the SQL rows are rendered from the protobuf when asked for (lookups, feeds,
//! snapshot chunks), so a million shipments cost their encoded bytes and not three copies.

use crate::error::QueryError;
use kouan_model::status::hours_between;
use kouan_model::{
    Alert, CustomsState, PublishedStatus, ShipmentMode, Status, StatusView, Timestamp,
    TransportStage,
};
use std::collections::HashSet;
use std::sync::Arc;

/// Where a record was read: topic partition and offset. Resume tokens are built from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub topic: TopicId,
    pub partition: i32,
    pub offset: i64,
}

/// The two topics the store follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TopicId {
    Status,
    Alerts,
}

/// One shared copy of each text many records repeat (shippers, nodes).
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.0.get(text) {
            return known.clone();
        }
        let text: Arc<str> = Arc::from(text);
        self.0.insert(text.clone());
        text
    }
}

#[derive(Debug)]
pub struct StatusRecord {
    pub shipment_id: Arc<str>,
    pub shipper: Option<Arc<str>>,
    pub version: u64,
    pub updated_at: Option<Timestamp>,
    pub origin: Origin,
    transport_stage: TransportStage,
    customs_status: CustomsState,
    mode: Option<ShipmentMode>,
    moving: bool,
    /// The node it waits at and since when (Unix milliseconds): [`Status::waiting`].
    waiting: Option<(Arc<str>, i64)>,
    /// The `kouan.status` value as read: it decoded and validated once, so it always will.
    wire: Box<[u8]>,
}

/// A `kouan.status` record decoded and validated but not in the store yet: decoding needs
/// nothing of the store, so a batch of records is decoded on every core before the store's
/// lock is taken ([`crate::store::decode_batch`]); only interning is left for the store.
#[derive(Debug)]
pub struct DecodedStatus {
    shipment_id: Arc<str>,
    shipper: Option<String>,
    version: u64,
    updated_at: Option<Timestamp>,
    origin: Origin,
    transport_stage: TransportStage,
    customs_status: CustomsState,
    mode: Option<ShipmentMode>,
    moving: bool,
    waiting: Option<(String, i64)>,
    wire: Box<[u8]>,
    /// Its DCSA events, prepared here on every core rather than under the store's lock.
    pub dcsa: crate::dcsa::ShipmentEvents,
}

impl DecodedStatus {
    /// Decodes a `kouan.status` value; errors name the field at fault. The record keeps
    /// `bytes` as its wire form.
    pub fn decode(bytes: Box<[u8]>, origin: Origin) -> Result<Self, QueryError> {
        let published = PublishedStatus::decode(&bytes).map_err(QueryError::from)?;
        let status = published.status;
        let dcsa = crate::dcsa::ShipmentEvents::of(&status);
        Ok(Self {
            dcsa,
            shipment_id: Arc::from(status.shipment_id.as_str()),
            moving: status.is_moving(),
            waiting: status
                .waiting()
                .map(|(node, since)| (node.to_string(), since.unix_millis())),
            shipper: status.shipper,
            version: published.version,
            updated_at: published.updated_at,
            origin,
            transport_stage: status.transport_stage,
            customs_status: status.customs_status,
            mode: status.mode,
            wire: bytes,
        })
    }

    /// The stored record, with the texts many records share taken from `interner`.
    /// The stored record (its DCSA events go to the DCSA index).
    pub fn into_record(self, interner: &mut Interner) -> StatusRecord {
        StatusRecord {
            shipment_id: self.shipment_id,
            shipper: self.shipper.as_deref().map(|s| interner.intern(s)),
            version: self.version,
            updated_at: self.updated_at,
            origin: self.origin,
            transport_stage: self.transport_stage,
            customs_status: self.customs_status,
            mode: self.mode,
            moving: self.moving,
            waiting: self
                .waiting
                .map(|(node, since)| (interner.intern(&node), since)),
            wire: self.wire,
        }
    }
}

impl StatusRecord {
    /// Decodes a `kouan.status` record; errors name the field at fault. Texts many records
    /// share are taken from `interner`.
    pub fn decode(
        bytes: &[u8],
        origin: Origin,
        interner: &mut Interner,
    ) -> Result<Self, QueryError> {
        Ok(DecodedStatus::decode(bytes.into(), origin)?.into_record(interner))
    }

    /// A record of `status` as if read from `kouan.status` (tests and benchmarks).
    pub fn new(status: Status, version: u64, updated_at: Timestamp, origin: Origin) -> Self {
        use prost::Message;
        let wire = status.to_proto(version, &updated_at).encode_to_vec();
        Self::decode(&wire, origin, &mut Interner::default()).expect("a derived status encodes")
    }

    /// The whole record, decoded again from its protobuf.
    pub fn status(&self) -> Status {
        PublishedStatus::decode(&self.wire)
            .expect("a stored record decoded when it was stored")
            .status
    }

    /// The record's fields borrowed from its protobuf, without building it (the SQL snapshot).
    pub fn view(&self) -> StatusView<'_> {
        StatusView::read(&self.wire).expect("a stored record decoded when it was stored")
    }

    pub fn transport_stage(&self) -> TransportStage {
        self.transport_stage
    }

    pub fn customs_status(&self) -> CustomsState {
        self.customs_status
    }

    pub fn mode(&self) -> Option<ShipmentMode> {
        self.mode
    }

    /// Between nodes ([`Status::is_moving`]).
    pub fn is_moving(&self) -> bool {
        self.moving
    }

    /// The node it waits at ([`Status::waiting`]).
    pub fn waiting_at(&self) -> Option<&str> {
        self.waiting.as_ref().map(|(node, _)| &**node)
    }

    /// Hours waited at the current node by `now_millis` (STATUS.md: while it is still there);
    /// [`Status::dwell_hours`].
    pub fn dwell_hours(&self, now_millis: i64) -> Option<f64> {
        let (_, since) = self.waiting.as_ref()?;
        Some(hours_between(*since, now_millis).max(0.0))
    }

    /// The `kouan.status` value as read.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The record's JSON object without its closing brace, so that `dwellHours` can be appended
    /// at answer time: render once, answer many times with [`StatusRecord::answer`].
    pub fn json_head(&self) -> Box<str> {
        let mut json = self
            .status()
            .to_json(self.version, self.updated_at.as_ref());
        json.pop();
        json.into_boxed_str()
    }

    /// The JSON answer of `GET /v1/shipments/{id}` from a [`json_head`](Self::json_head) of
    /// this record: it plus `dwellHours` at `now`.
    pub fn answer(&self, head: &str, now_millis: i64) -> String {
        let mut out = String::with_capacity(head.len() + 24);
        out.push_str(head);
        out.push_str(",\"dwellHours\":");
        match self.dwell_hours(now_millis) {
            Some(hours) => out.push_str(&serde_json::to_string(&hours).expect("finite")),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }

    /// The JSON answer of `GET /v1/shipments/{id}`: the record plus `dwellHours` at `now`.
    pub fn to_json(&self, now_millis: i64) -> String {
        self.answer(&self.json_head(), now_millis)
    }

    /// Same derived content (version and `updatedAt` aside).
    pub fn same_content(&self, other: &StatusRecord) -> bool {
        self.wire == other.wire || self.status() == other.status()
    }
}

/// One alert's latest record, with the ids the indexes share.
#[derive(Debug)]
pub struct AlertRecord {
    pub alert_id: Arc<str>,
    pub shipment_id: Arc<str>,
    pub shipper: Option<Arc<str>>,
    pub alert: Alert,
    pub origin: Origin,
}

impl AlertRecord {
    /// Decodes a `kouan.alerts` record; errors name the field at fault.
    pub fn decode(bytes: &[u8], origin: Origin) -> Result<Self, QueryError> {
        let alert = Alert::decode(bytes).map_err(QueryError::from)?;
        Ok(Self {
            alert_id: Arc::from(alert.alert_id.as_str()),
            shipment_id: Arc::from(alert.shipment_id.as_str()),
            shipper: alert.shipper.as_deref().map(Arc::from),
            alert,
            origin,
        })
    }

    pub fn is_firing(&self) -> bool {
        self.alert.is_firing()
    }

    pub fn to_json(&self) -> String {
        self.alert.to_json()
    }

    /// The record's `kouan.alerts` value (what a local snapshot keeps).
    pub fn wire(&self) -> Vec<u8> {
        use prost::Message;
        self.alert.to_proto().encode_to_vec()
    }
}
