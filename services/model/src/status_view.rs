//! A borrowed view of a `kouan.status` record: its fields read straight off the encoded bytes,
//! texts as slices of them and instants as Unix milliseconds, so reading a record allocates two
//! small vectors and no string. It is for records a reader has already decoded and validated once
//! with [`PublishedStatus::decode`](crate::PublishedStatus::decode) and keeps encoded: the query
//! store's SQL snapshot reads every record of a chunk again at each rebuild, and building the
//! whole [`Status`](crate::Status) (about sixty strings for fourteen milestones) only to copy its
//! texts into Arrow columns was most of that work.
//!
//! It reads the wire as prost does for what our encoder writes: a field's last value wins,
//! repeated fields append, unknown fields are skipped, enum numbers read as
//! [`Status::from_proto`](crate::Status::from_proto) reads them. A unit test holds it to
//! `PublishedStatus::decode` field by field.

use crate::status_wire::{classifier_of, customs_state_of, transport_stage_of};
use crate::{
    Classifier, CustomsState, Direction, DocumentType, EmptyIndicator, Reject, ShipmentMode,
    TransportMode, TransportStage,
};

/// A status record's fields, borrowed from its encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusView<'a> {
    pub shipment_id: &'a str,
    pub document_type: Option<DocumentType>,
    pub shipper: Option<&'a str>,
    pub mode: Option<ShipmentMode>,
    pub direction: Option<Direction>,
    pub origin: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub port_of_entry: Option<&'a str>,
    pub units: Vec<&'a str>,
    pub booked_at: Option<i64>,
    pub received_at: Option<i64>,
    pub departed_at: Option<i64>,
    pub arrived_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub declared_at: Option<i64>,
    pub customs_status: CustomsState,
    pub released_at: Option<i64>,
    pub inspected: bool,
    pub transport_stage: TransportStage,
    pub advance_declared: Option<bool>,
    pub clearance_hours: Option<f64>,
    pub eta: Option<i64>,
    /// The UN/LOCODE of the last location.
    pub last_location: Option<&'a str>,
    pub dwell_since: Option<i64>,
    pub milestones: Vec<MilestoneView<'a>>,
    pub version: u64,
    pub updated_at: Option<i64>,
}

/// One milestone of a [`StatusView`].
#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneView<'a> {
    pub code: &'a str,
    pub event_time: i64,
    pub classifier: Classifier,
    /// The UN/LOCODE of its location.
    pub location: Option<&'a str>,
    pub source: &'a str,
    pub event_id: &'a str,
    pub recorded_time: Option<i64>,
    pub unit: Option<&'a str>,
    pub empty_indicator: Option<EmptyIndicator>,
    /// The conveyance's mode (when it decodes) and reference.
    pub conveyance: Option<(Option<TransportMode>, &'a str)>,
    pub declaration: Option<&'a str>,
}

impl<'a> StatusView<'a> {
    /// Reads a `kouan.status` value; malformed bytes are an error (never a panic), but nothing
    /// beyond the wire is checked (see the module's docs).
    pub fn read(bytes: &'a [u8]) -> Result<Self, Reject> {
        let mut view = StatusView {
            shipment_id: "",
            document_type: None,
            shipper: None,
            mode: None,
            direction: None,
            origin: None,
            destination: None,
            port_of_entry: None,
            units: Vec::new(),
            booked_at: None,
            received_at: None,
            departed_at: None,
            arrived_at: None,
            delivered_at: None,
            declared_at: None,
            customs_status: customs_state_of(0),
            released_at: None,
            inspected: false,
            transport_stage: transport_stage_of(0),
            advance_declared: None,
            clearance_hours: None,
            eta: None,
            last_location: None,
            dwell_since: None,
            milestones: Vec::new(),
            version: 0,
            updated_at: None,
        };
        let mut fields = Fields(bytes);
        while let Some((tag, value)) = fields.next_field()? {
            match tag {
                1 => view.shipment_id = value.text()?,
                2 => view.document_type = DocumentType::from_proto(value.int32()?),
                3 => view.shipper = Some(value.text()?),
                4 => view.mode = ShipmentMode::from_proto(value.int32()?),
                5 => view.direction = Direction::from_proto(value.int32()?),
                6 => view.origin = Some(value.text()?),
                7 => view.destination = Some(value.text()?),
                8 => view.port_of_entry = Some(value.text()?),
                9 => view.units.push(value.text()?),
                10 => view.booked_at = Some(value.millis()?),
                11 => view.received_at = Some(value.millis()?),
                12 => view.departed_at = Some(value.millis()?),
                13 => view.arrived_at = Some(value.millis()?),
                14 => view.delivered_at = Some(value.millis()?),
                15 => view.declared_at = Some(value.millis()?),
                16 => view.customs_status = customs_state_of(value.int32()?),
                17 => view.released_at = Some(value.millis()?),
                18 => view.inspected = value.varint()? != 0,
                19 => view.transport_stage = transport_stage_of(value.int32()?),
                20 => view.advance_declared = Some(value.varint()? != 0),
                21 => view.clearance_hours = Some(value.double()?),
                22 => view.eta = Some(value.millis()?),
                23 => view.last_location = Some(value.unlocode()?),
                24 => view.dwell_since = Some(value.millis()?),
                25 => view.milestones.push(MilestoneView::read(value.bytes()?)?),
                26 => view.version = value.varint()?,
                27 => view.updated_at = Some(value.millis()?),
                _ => {}
            }
        }
        Ok(view)
    }
}

impl<'a> MilestoneView<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, Reject> {
        let (mut code, mut event_time, mut classifier) = ("", None, 0);
        let (mut location, mut source, mut event_id) = (None, "", "");
        let (mut recorded_time, mut unit, mut empty_indicator) = (None, None, None);
        let (mut conveyance, mut declaration) = (None, None);
        let mut fields = Fields(bytes);
        while let Some((tag, value)) = fields.next_field()? {
            match tag {
                1 => code = value.text()?,
                2 => event_time = Some(value.millis()?),
                3 => classifier = value.int32()?,
                4 => location = Some(value.unlocode()?),
                5 => source = value.text()?,
                6 => event_id = value.text()?,
                7 => recorded_time = Some(value.millis()?),
                8 => unit = Some(value.text()?),
                9 => empty_indicator = EmptyIndicator::from_proto(value.int32()?),
                10 => conveyance = Some(read_conveyance(value.bytes()?)?),
                11 => declaration = Some(value.text()?),
                _ => {}
            }
        }
        Ok(MilestoneView {
            code,
            event_time: event_time
                .ok_or_else(|| Reject::new("milestones.eventTime", "is required"))?,
            classifier: classifier_of(classifier),
            location,
            source,
            event_id,
            recorded_time,
            unit,
            empty_indicator,
            conveyance,
            declaration,
        })
    }
}

/// A `pb::TransportRef`: its mode (`None` when unknown) and reference.
fn read_conveyance(bytes: &[u8]) -> Result<(Option<TransportMode>, &str), Reject> {
    let (mut mode, mut reference) = (0, "");
    let mut fields = Fields(bytes);
    while let Some((tag, value)) = fields.next_field()? {
        match tag {
            1 => mode = value.int32()?,
            2 => reference = value.text()?,
            _ => {}
        }
    }
    Ok((TransportMode::from_proto(mode), reference))
}

fn malformed(reason: &str) -> Reject {
    Reject::new("(protobuf)", reason.to_string())
}

/// The fields of one encoded message, in order.
struct Fields<'a>(&'a [u8]);

/// One field's value as the wire carries it.
enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32,
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, Reject> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first().ok_or_else(|| malformed("truncated"))?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint longer than ten bytes"))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Reject> {
        if self.0.len() < len {
            return Err(malformed("truncated"));
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, Reject> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3).map_err(|_| malformed("field number out of range"))?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().expect("eight bytes"),
            )),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| malformed("length out of range"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Fixed32
            }
            _ => return Err(malformed("unsupported wire type")),
        };
        Ok(Some((tag, value)))
    }
}

impl<'a> Value<'a> {
    fn varint(&self) -> Result<u64, Reject> {
        match self {
            Value::Varint(value) => Ok(*value),
            _ => Err(malformed("wire type mismatch")),
        }
    }

    /// An `int32` or enum: the low 32 bits, as protobuf truncates.
    fn int32(&self) -> Result<i32, Reject> {
        Ok(self.varint()? as i32)
    }

    fn double(&self) -> Result<f64, Reject> {
        match self {
            Value::Fixed64(bits) => Ok(f64::from_bits(*bits)),
            _ => Err(malformed("wire type mismatch")),
        }
    }

    fn bytes(&self) -> Result<&'a [u8], Reject> {
        match self {
            Value::Bytes(bytes) => Ok(bytes),
            _ => Err(malformed("wire type mismatch")),
        }
    }

    fn text(&self) -> Result<&'a str, Reject> {
        std::str::from_utf8(self.bytes()?).map_err(|_| malformed("invalid UTF-8"))
    }

    /// A `Time` message as Unix milliseconds (as `Timestamp::unix_millis`).
    fn millis(&self) -> Result<i64, Reject> {
        let (mut seconds, mut nanos) = (0i64, 0u64);
        let mut fields = Fields(self.bytes()?);
        while let Some((tag, value)) = fields.next_field()? {
            match tag {
                1 => seconds = value.varint()? as i64,
                2 => nanos = u64::from(value.varint()? as u32),
                _ => {}
            }
        }
        Ok(seconds
            .saturating_mul(1000)
            .saturating_add((nanos / 1_000_000) as i64))
    }

    /// A `Location` message's UN/LOCODE.
    fn unlocode(&self) -> Result<&'a str, Reject> {
        let mut unlocode = "";
        let mut fields = Fields(self.bytes()?);
        while let Some((tag, value)) = fields.next_field()? {
            if tag == 1 {
                unlocode = value.text()?;
            }
        }
        Ok(unlocode)
    }
}
