//! `kouan.v1.Event` read in place: every string borrowed from the record, nothing allocated but
//! the repeated identifiers' lists.
//!
//! Decoding through prost's generated `pb::Event` allocated each string of the record (id, source,
//! the place's three, the references) only for [`crate::protobuf`] to copy them into the event it
//! builds — into an identifier held inline, a source and a place the processor shares anyway —
//! and free them again: ten allocations per record on the processor's hottest path, and on the
//! restart's (a checkpoint is 600,000 records). This reader keeps prost's reading of the wire
//! exactly (a property test holds it to that): fields in any order, the last value of a scalar
//! wins, a message field read twice is merged, a oneof member read after another replaces it,
//! repeated strings append, unknown fields are skipped, strings must be UTF-8.

use crate::pb;
use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};

/// Why a record is not a `kouan.v1.Event` at all (the protobuf, not its content).
pub type ViewError = String;

#[derive(Debug, Default, PartialEq)]
pub struct EventView<'a> {
    pub event_id: &'a str,
    pub source: &'a str,
    pub event_time: Option<pb::Time>,
    pub recorded_time: Option<pb::Time>,
    pub classifier: i32,
    pub location: Option<LocationView<'a>>,
    pub retracted: bool,
    pub body: Option<BodyView<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct LocationView<'a> {
    pub unlocode: &'a str,
    pub facility: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl LocationView<'_> {
    /// The place, owned.
    pub fn to_location(&self) -> crate::event::Location {
        crate::event::Location {
            unlocode: self.unlocode.to_string(),
            facility: self.facility.map(str::to_string),
            name: self.name.map(str::to_string),
        }
    }

    /// Whether `location` is this place.
    pub fn is(&self, location: &crate::event::Location) -> bool {
        location.unlocode == self.unlocode
            && location.facility.as_deref() == self.facility
            && location.name.as_deref() == self.name
    }
}

#[derive(Debug, PartialEq)]
pub enum BodyView<'a> {
    Shipment(ShipmentView<'a>),
    Equipment(EquipmentView<'a>),
    Transport(TransportView<'a>),
    Air(AirView<'a>),
    Customs(CustomsView<'a>),
}

#[derive(Debug, Default, PartialEq)]
pub struct ShipmentView<'a> {
    pub kind: i32,
    pub shipment_id: &'a str,
    pub document_type: i32,
    pub shipper: Option<&'a str>,
    pub mode: i32,
    pub direction: i32,
    pub origin: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub port_of_entry: Option<&'a str>,
    pub units: Vec<&'a str>,
    pub pieces: Option<u32>,
    pub weight_kg: Option<f64>,
    pub hs_code: Option<&'a str>,
}

#[derive(Debug, Default, PartialEq)]
pub struct TransportRefView<'a> {
    pub mode: i32,
    pub reference: &'a str,
}

#[derive(Debug, Default, PartialEq)]
pub struct EquipmentView<'a> {
    pub kind: i32,
    pub equipment_reference: &'a str,
    pub empty_indicator: i32,
    pub shipment_ids: Vec<&'a str>,
    pub transport: Option<TransportRefView<'a>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct TransportView<'a> {
    pub kind: i32,
    pub mode: i32,
    pub reference: &'a str,
}

#[derive(Debug, Default, PartialEq)]
pub struct AirView<'a> {
    pub status: i32,
    pub awb: &'a str,
    pub flight: Option<&'a str>,
    pub pieces: Option<u32>,
    pub weight_kg: Option<f64>,
}

#[derive(Debug, Default, PartialEq)]
pub struct CustomsView<'a> {
    pub status: i32,
    pub declaration_number: &'a str,
    pub shipment_id: &'a str,
    pub direction: i32,
    pub procedure: i32,
}

impl<'a> EventView<'a> {
    /// Reads one record value as prost reads `pb::Event`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ViewError> {
        let mut view = EventView::default();
        let mut wire = Wire(bytes);
        while let Some((tag, wire_type)) = wire.key()? {
            match tag {
                1 => view.event_id = wire.text(wire_type)?,
                2 => view.source = wire.text(wire_type)?,
                3 => wire.time(
                    wire_type,
                    view.event_time.get_or_insert_with(Default::default),
                )?,
                4 => wire.time(
                    wire_type,
                    view.recorded_time.get_or_insert_with(Default::default),
                )?,
                5 => view.classifier = wire.varint(wire_type)? as i32,
                6 => wire.location(
                    wire_type,
                    view.location.get_or_insert_with(Default::default),
                )?,
                7 => view.retracted = wire.varint(wire_type)? != 0,
                10 => wire.message(wire_type)?.shipment(member(
                    &mut view.body,
                    BodyView::Shipment,
                    |body| match body {
                        BodyView::Shipment(body) => Some(body),
                        _ => None,
                    },
                ))?,
                11 => wire.message(wire_type)?.equipment(member(
                    &mut view.body,
                    BodyView::Equipment,
                    |body| match body {
                        BodyView::Equipment(body) => Some(body),
                        _ => None,
                    },
                ))?,
                12 => wire.message(wire_type)?.transport(member(
                    &mut view.body,
                    BodyView::Transport,
                    |body| match body {
                        BodyView::Transport(body) => Some(body),
                        _ => None,
                    },
                ))?,
                13 => {
                    wire.message(wire_type)?
                        .air(member(&mut view.body, BodyView::Air, |body| match body {
                            BodyView::Air(body) => Some(body),
                            _ => None,
                        }))?
                }
                14 => wire.message(wire_type)?.customs(member(
                    &mut view.body,
                    BodyView::Customs,
                    |body| match body {
                        BodyView::Customs(body) => Some(body),
                        _ => None,
                    },
                ))?,
                _ => wire.skip(tag, wire_type)?,
            }
        }
        Ok(view)
    }

    /// The same view of a message prost decoded (for `pb::Event`s built in memory).
    pub fn of(message: &'a pb::Event) -> Self {
        use pb::event::Body as B;
        EventView {
            event_id: &message.event_id,
            source: &message.source,
            event_time: message.event_time,
            recorded_time: message.recorded_time,
            classifier: message.classifier,
            location: message.location.as_ref().map(|l| LocationView {
                unlocode: &l.unlocode,
                facility: l.facility.as_deref(),
                name: l.name.as_deref(),
            }),
            retracted: message.retracted,
            body: message.body.as_ref().map(|body| match body {
                B::Shipment(b) => BodyView::Shipment(ShipmentView {
                    kind: b.r#type,
                    shipment_id: &b.shipment_id,
                    document_type: b.document_type,
                    shipper: b.shipper.as_deref(),
                    mode: b.mode,
                    direction: b.direction,
                    origin: b.origin.as_deref(),
                    destination: b.destination.as_deref(),
                    port_of_entry: b.port_of_entry.as_deref(),
                    units: b.units.iter().map(String::as_str).collect(),
                    pieces: b.pieces,
                    weight_kg: b.weight_kg,
                    hs_code: b.hs_code.as_deref(),
                }),
                B::Equipment(b) => BodyView::Equipment(EquipmentView {
                    kind: b.r#type,
                    equipment_reference: &b.equipment_reference,
                    empty_indicator: b.empty_indicator,
                    shipment_ids: b.shipment_ids.iter().map(String::as_str).collect(),
                    transport: b.transport.as_ref().map(|t| TransportRefView {
                        mode: t.mode,
                        reference: &t.reference,
                    }),
                }),
                B::Transport(b) => BodyView::Transport(TransportView {
                    kind: b.r#type,
                    mode: b.mode,
                    reference: &b.reference,
                }),
                B::Air(b) => BodyView::Air(AirView {
                    status: b.status,
                    awb: &b.awb,
                    flight: b.flight.as_deref(),
                    pieces: b.pieces,
                    weight_kg: b.weight_kg,
                }),
                B::Customs(b) => BodyView::Customs(CustomsView {
                    status: b.status,
                    declaration_number: &b.declaration_number,
                    shipment_id: &b.shipment_id,
                    direction: b.direction,
                    procedure: b.procedure,
                }),
            }),
        }
    }
}

/// The body member `get` reads: the one read before if it is that member (prost merges a member
/// read twice), otherwise a new one replacing whatever was read (a member read after another
/// replaces it).
fn member<'v, 'a, T: Default>(
    body: &'v mut Option<BodyView<'a>>,
    wrap: fn(T) -> BodyView<'a>,
    get: for<'x> fn(&'x mut BodyView<'a>) -> Option<&'x mut T>,
) -> &'v mut T {
    if body.as_mut().and_then(get).is_none() {
        *body = Some(wrap(T::default()));
    }
    body.as_mut()
        .and_then(get)
        .expect("the member was just made")
}

/// What is left of a message's bytes.
struct Wire<'a>(&'a [u8]);

fn wrong_type(wire_type: WireType, expected: WireType) -> ViewError {
    format!("invalid wire type: {wire_type:?} (expected {expected:?})")
}

impl<'a> Wire<'a> {
    /// The next field's number and wire type; `None` at the end.
    fn key(&mut self) -> Result<Option<(u32, WireType)>, ViewError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        decode_key(&mut self.0)
            .map(Some)
            .map_err(|error| error.to_string())
    }

    fn varint(&mut self, wire_type: WireType) -> Result<u64, ViewError> {
        if wire_type != WireType::Varint {
            return Err(wrong_type(wire_type, WireType::Varint));
        }
        decode_varint(&mut self.0).map_err(|error| error.to_string())
    }

    fn double(&mut self, wire_type: WireType) -> Result<f64, ViewError> {
        if wire_type != WireType::SixtyFourBit {
            return Err(wrong_type(wire_type, WireType::SixtyFourBit));
        }
        let Some((bytes, rest)) = self.0.split_first_chunk::<8>() else {
            return Err("buffer underflow".to_string());
        };
        self.0 = rest;
        Ok(f64::from_le_bytes(*bytes))
    }

    fn bytes(&mut self, wire_type: WireType) -> Result<&'a [u8], ViewError> {
        if wire_type != WireType::LengthDelimited {
            return Err(wrong_type(wire_type, WireType::LengthDelimited));
        }
        let length = decode_varint(&mut self.0).map_err(|error| error.to_string())?;
        if length > self.0.len() as u64 {
            return Err("buffer underflow".to_string());
        }
        let (bytes, rest) = self.0.split_at(length as usize);
        self.0 = rest;
        Ok(bytes)
    }

    fn text(&mut self, wire_type: WireType) -> Result<&'a str, ViewError> {
        std::str::from_utf8(self.bytes(wire_type)?)
            .map_err(|_| "invalid string value: data is not UTF-8 encoded".to_string())
    }

    fn message(&mut self, wire_type: WireType) -> Result<Wire<'a>, ViewError> {
        self.bytes(wire_type).map(Wire)
    }

    fn skip(&mut self, tag: u32, wire_type: WireType) -> Result<(), ViewError> {
        skip_field(wire_type, tag, &mut self.0, DecodeContext::default())
            .map_err(|error| error.to_string())
    }

    fn time(&mut self, wire_type: WireType, time: &mut pb::Time) -> Result<(), ViewError> {
        let mut inner = self.message(wire_type)?;
        while let Some((tag, wire_type)) = inner.key()? {
            match tag {
                1 => time.unix_seconds = inner.varint(wire_type)? as i64,
                2 => time.nanos = inner.varint(wire_type)? as u32,
                3 => {
                    // sint32 as prost reads it, from all 64 bits read
                    let zigzag = inner.varint(wire_type)?;
                    time.offset_seconds = ((zigzag >> 1) as i32) ^ -((zigzag & 1) as i32);
                }
                _ => inner.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }

    fn location(
        &mut self,
        wire_type: WireType,
        location: &mut LocationView<'a>,
    ) -> Result<(), ViewError> {
        let mut inner = self.message(wire_type)?;
        while let Some((tag, wire_type)) = inner.key()? {
            match tag {
                1 => location.unlocode = inner.text(wire_type)?,
                2 => location.facility = Some(inner.text(wire_type)?),
                3 => location.name = Some(inner.text(wire_type)?),
                _ => inner.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }

    fn shipment(&mut self, body: &mut ShipmentView<'a>) -> Result<(), ViewError> {
        while let Some((tag, wire_type)) = self.key()? {
            match tag {
                1 => body.kind = self.varint(wire_type)? as i32,
                2 => body.shipment_id = self.text(wire_type)?,
                3 => body.document_type = self.varint(wire_type)? as i32,
                4 => body.shipper = Some(self.text(wire_type)?),
                5 => body.mode = self.varint(wire_type)? as i32,
                6 => body.direction = self.varint(wire_type)? as i32,
                7 => body.origin = Some(self.text(wire_type)?),
                8 => body.destination = Some(self.text(wire_type)?),
                9 => body.port_of_entry = Some(self.text(wire_type)?),
                10 => body.units.push(self.text(wire_type)?),
                11 => body.pieces = Some(self.varint(wire_type)? as u32),
                12 => body.weight_kg = Some(self.double(wire_type)?),
                13 => body.hs_code = Some(self.text(wire_type)?),
                _ => self.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }

    fn equipment(&mut self, body: &mut EquipmentView<'a>) -> Result<(), ViewError> {
        while let Some((tag, wire_type)) = self.key()? {
            match tag {
                1 => body.kind = self.varint(wire_type)? as i32,
                2 => body.equipment_reference = self.text(wire_type)?,
                3 => body.empty_indicator = self.varint(wire_type)? as i32,
                4 => body.shipment_ids.push(self.text(wire_type)?),
                5 => {
                    let transport = body.transport.get_or_insert_with(Default::default);
                    let mut inner = self.message(wire_type)?;
                    while let Some((tag, wire_type)) = inner.key()? {
                        match tag {
                            1 => transport.mode = inner.varint(wire_type)? as i32,
                            2 => transport.reference = inner.text(wire_type)?,
                            _ => inner.skip(tag, wire_type)?,
                        }
                    }
                }
                _ => self.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }

    fn transport(&mut self, body: &mut TransportView<'a>) -> Result<(), ViewError> {
        while let Some((tag, wire_type)) = self.key()? {
            match tag {
                1 => body.kind = self.varint(wire_type)? as i32,
                2 => body.mode = self.varint(wire_type)? as i32,
                3 => body.reference = self.text(wire_type)?,
                _ => self.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }

    fn air(&mut self, body: &mut AirView<'a>) -> Result<(), ViewError> {
        while let Some((tag, wire_type)) = self.key()? {
            match tag {
                1 => body.status = self.varint(wire_type)? as i32,
                2 => body.awb = self.text(wire_type)?,
                3 => body.flight = Some(self.text(wire_type)?),
                4 => body.pieces = Some(self.varint(wire_type)? as u32),
                5 => body.weight_kg = Some(self.double(wire_type)?),
                _ => self.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }

    fn customs(&mut self, body: &mut CustomsView<'a>) -> Result<(), ViewError> {
        while let Some((tag, wire_type)) = self.key()? {
            match tag {
                1 => body.status = self.varint(wire_type)? as i32,
                2 => body.declaration_number = self.text(wire_type)?,
                3 => body.shipment_id = self.text(wire_type)?,
                4 => body.direction = self.varint(wire_type)? as i32,
                5 => body.procedure = self.varint(wire_type)? as i32,
                _ => self.skip(tag, wire_type)?,
            }
        }
        Ok(())
    }
}
