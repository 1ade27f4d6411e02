//! A status record borrowed from what it was derived from, and its protobuf encoding written
//! straight from the borrowed fields.
//!
//! The processor derives a record for every shipment an event may have changed and encodes it
//! only to compare its digest with the one published; most derivations change nothing. Building
//! an owned [`Status`] cloned five strings per milestone, and converting it to the generated
//! `pb::ShipmentStatus` for prost cloned each again: half the processor's core went to
//! allocating and freeing them. [`StatusRef::encoded`] writes the same bytes as prost does for
//! `pb::ShipmentStatus` (a property test holds it to that) without a copy.

use crate::status::{Milestone, Status};
use crate::status_wire::{content_digest, EncodedStatus};
use crate::*;
use prost::bytes::BufMut;
use prost::encoding::{encoded_len_varint, key_len, WireType};

/// [`Status`] with its text borrowed.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRef<'a> {
    pub shipment_id: &'a str,
    pub document_type: Option<DocumentType>,
    pub shipper: Option<&'a str>,
    pub mode: Option<ShipmentMode>,
    pub direction: Option<Direction>,
    pub origin: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub port_of_entry: Option<&'a str>,
    pub units: &'a [String],
    pub booked_at: Option<Timestamp>,
    pub received_at: Option<Timestamp>,
    pub departed_at: Option<Timestamp>,
    pub arrived_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub declared_at: Option<Timestamp>,
    pub customs_status: CustomsState,
    pub released_at: Option<Timestamp>,
    pub inspected: bool,
    pub transport_stage: TransportStage,
    pub advance_declared: Option<bool>,
    pub clearance_hours: Option<f64>,
    pub eta: Option<Timestamp>,
    pub last_location: Option<&'a Location>,
    pub dwell_since: Option<Timestamp>,
    pub milestones: Vec<MilestoneRef<'a>>,
}

/// [`Milestone`] with its text borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MilestoneRef<'a> {
    pub code: &'static str,
    pub event_time: Timestamp,
    pub classifier: Classifier,
    pub location: Option<&'a Location>,
    pub source: &'a str,
    pub event_id: &'a str,
    pub recorded_time: Option<Timestamp>,
    pub unit: Option<&'a str>,
    pub empty_indicator: Option<EmptyIndicator>,
    pub conveyance: Option<(TransportMode, &'a str)>,
    pub declaration: Option<&'a str>,
}

impl Status {
    /// This record, borrowed.
    pub fn as_ref(&self) -> StatusRef<'_> {
        StatusRef {
            shipment_id: &self.shipment_id,
            document_type: self.document_type,
            shipper: self.shipper.as_deref(),
            mode: self.mode,
            direction: self.direction,
            origin: self.origin.as_deref(),
            destination: self.destination.as_deref(),
            port_of_entry: self.port_of_entry.as_deref(),
            units: &self.units,
            booked_at: self.booked_at,
            received_at: self.received_at,
            departed_at: self.departed_at,
            arrived_at: self.arrived_at,
            delivered_at: self.delivered_at,
            declared_at: self.declared_at,
            customs_status: self.customs_status,
            released_at: self.released_at,
            inspected: self.inspected,
            transport_stage: self.transport_stage,
            advance_declared: self.advance_declared,
            clearance_hours: self.clearance_hours,
            eta: self.eta,
            last_location: self.last_location.as_ref(),
            dwell_since: self.dwell_since,
            milestones: self
                .milestones
                .iter()
                .map(|m| MilestoneRef {
                    code: m.code,
                    event_time: m.event_time,
                    classifier: m.classifier,
                    location: m.location.as_ref(),
                    source: &m.source,
                    event_id: &m.event_id,
                    recorded_time: m.recorded_time,
                    unit: m.unit.as_deref(),
                    empty_indicator: m.empty_indicator,
                    conveyance: m
                        .conveyance
                        .as_ref()
                        .map(|c| (c.mode, c.reference.as_str())),
                    declaration: m.declaration.as_deref(),
                })
                .collect(),
        }
    }
}

impl StatusRef<'_> {
    /// The owned record.
    pub fn to_owned(&self) -> Status {
        Status {
            shipment_id: self.shipment_id.to_string(),
            document_type: self.document_type,
            shipper: self.shipper.map(str::to_string),
            mode: self.mode,
            direction: self.direction,
            origin: self.origin.map(str::to_string),
            destination: self.destination.map(str::to_string),
            port_of_entry: self.port_of_entry.map(str::to_string),
            units: self.units.to_vec(),
            booked_at: self.booked_at,
            received_at: self.received_at,
            departed_at: self.departed_at,
            arrived_at: self.arrived_at,
            delivered_at: self.delivered_at,
            declared_at: self.declared_at,
            customs_status: self.customs_status,
            released_at: self.released_at,
            inspected: self.inspected,
            transport_stage: self.transport_stage,
            advance_declared: self.advance_declared,
            clearance_hours: self.clearance_hours,
            eta: self.eta,
            last_location: self.last_location.cloned(),
            dwell_since: self.dwell_since,
            milestones: self
                .milestones
                .iter()
                .map(|m| Milestone {
                    code: m.code,
                    event_time: m.event_time,
                    classifier: m.classifier,
                    location: m.location.cloned(),
                    source: m.source.to_string(),
                    event_id: m.event_id.to_string(),
                    recorded_time: m.recorded_time,
                    unit: m.unit.map(str::to_string),
                    empty_indicator: m.empty_indicator,
                    conveyance: m.conveyance.map(|(mode, reference)| TransportRef {
                        mode,
                        reference: reference.into(),
                    }),
                    declaration: m.declaration.map(str::to_string),
                })
                .collect(),
        }
    }

    /// The record's content encoded, with its digest: the same as [`Status::encoded`] gives for
    /// [`StatusRef::to_owned`], without building it.
    pub fn encoded(&self) -> EncodedStatus {
        let tail = zero_updated_at();
        let mut content = Vec::with_capacity(self.content_len() + tail.len());
        self.encode_content(&mut content);
        // digested as a record read back would be: with `updatedAt` the epoch after the content
        let len = content.len();
        content.extend_from_slice(tail);
        let digest = content_digest(&content);
        content.truncate(len);
        EncodedStatus::from_content(content, digest)
    }

    /// Every field of `pb::ShipmentStatus` but `version` and `updated_at`, in field order, as
    /// prost writes them: proto3 scalars only when not their default, `optional` ones and
    /// messages whenever present, repeated ones element by element.
    fn encode_content(&self, buf: &mut Vec<u8>) {
        put_str(1, self.shipment_id, buf);
        put_enum(2, self.document_type.map_or(0, DocumentType::to_proto), buf);
        put_optional_str(3, self.shipper, buf);
        put_enum(4, self.mode.map_or(0, ShipmentMode::to_proto), buf);
        put_enum(5, self.direction.map_or(0, Direction::to_proto), buf);
        put_optional_str(6, self.origin, buf);
        put_optional_str(7, self.destination, buf);
        put_optional_str(8, self.port_of_entry, buf);
        for unit in self.units {
            put_bytes(9, unit.as_bytes(), buf);
        }
        put_time(10, self.booked_at.as_ref(), buf);
        put_time(11, self.received_at.as_ref(), buf);
        put_time(12, self.departed_at.as_ref(), buf);
        put_time(13, self.arrived_at.as_ref(), buf);
        put_time(14, self.delivered_at.as_ref(), buf);
        put_time(15, self.declared_at.as_ref(), buf);
        put_enum(16, self.customs_status.to_proto(), buf);
        put_time(17, self.released_at.as_ref(), buf);
        if self.inspected {
            put_varint(18, 1, buf);
        }
        put_enum(19, self.transport_stage.to_proto(), buf);
        if let Some(advance) = self.advance_declared {
            put_varint(20, u64::from(advance), buf);
        }
        if let Some(hours) = self.clearance_hours {
            encode_key(21, WireType::SixtyFourBit, buf);
            buf.put_f64_le(hours);
        }
        put_time(22, self.eta.as_ref(), buf);
        put_location(23, self.last_location, buf);
        put_time(24, self.dwell_since.as_ref(), buf);
        for milestone in &self.milestones {
            encode_key(25, WireType::LengthDelimited, buf);
            encode_varint(milestone_len(milestone) as u64, buf);
            put_str(1, milestone.code, buf);
            put_time(2, Some(&milestone.event_time), buf);
            put_enum(3, milestone.classifier.to_proto(), buf);
            put_location(4, milestone.location, buf);
            put_str(5, milestone.source, buf);
            put_str(6, milestone.event_id, buf);
            put_time(7, milestone.recorded_time.as_ref(), buf);
            put_optional_str(8, milestone.unit, buf);
            if let Some(empty) = milestone.empty_indicator {
                put_varint(9, empty.to_proto() as i64 as u64, buf);
            }
            if let Some((mode, reference)) = milestone.conveyance {
                encode_key(10, WireType::LengthDelimited, buf);
                encode_varint(conveyance_len(mode, reference) as u64, buf);
                put_enum(1, mode.to_proto(), buf);
                put_str(2, reference, buf);
            }
            put_optional_str(11, milestone.declaration, buf);
        }
    }

    /// The length [`StatusRef::encode_content`] writes, so that its buffer is allocated once.
    fn content_len(&self) -> usize {
        let optional_str = |tag, text: Option<&str>| text.map_or(0, |text| bytes_len(tag, text));
        str_len(1, self.shipment_id)
            + enum_len(2, self.document_type.map_or(0, DocumentType::to_proto))
            + optional_str(3, self.shipper)
            + enum_len(4, self.mode.map_or(0, ShipmentMode::to_proto))
            + enum_len(5, self.direction.map_or(0, Direction::to_proto))
            + optional_str(6, self.origin)
            + optional_str(7, self.destination)
            + optional_str(8, self.port_of_entry)
            + self.units.iter().map(|u| bytes_len(9, u)).sum::<usize>()
            + [
                self.booked_at,
                self.received_at,
                self.departed_at,
                self.arrived_at,
                self.delivered_at,
                self.declared_at,
                self.released_at,
                self.eta,
                self.dwell_since,
            ]
            .iter()
            // every time field's tag is below 16: one byte of key
            .map(|time| {
                time.as_ref()
                    .map_or(0, |time| 1 + nested_len(time_len(time)))
            })
            .sum::<usize>()
            + enum_len(16, self.customs_status.to_proto())
            + if self.inspected { key_len(18) + 1 } else { 0 }
            + enum_len(19, self.transport_stage.to_proto())
            + self.advance_declared.map_or(0, |_| key_len(20) + 1)
            + self.clearance_hours.map_or(0, |_| key_len(21) + 8)
            + self
                .last_location
                .map_or(0, |l| key_len(23) + nested_len(location_len(l)))
            + self
                .milestones
                .iter()
                .map(|m| key_len(25) + nested_len(milestone_len(m)))
                .sum::<usize>()
    }
}

/// `pb::ShipmentStatus { updated_at: Some(epoch), .. }` encoded: the digest covers the content
/// followed by it, as [`Status::encoded`] always has (the digest of a record read back, with its
/// `updatedAt` set to the epoch, is the same).
fn zero_updated_at() -> &'static [u8] {
    // field 27, length-delimited (key 27 << 3 | 2 = 218 = 0xDA 0x01), an empty Time
    &[0xDA, 0x01, 0x00]
}

/// A varint as prost writes it; most here (keys, lengths, enums) are one byte, written without
/// prost's general loop (a twelfth of deriving and encoding went to it).
fn encode_varint(value: u64, buf: &mut Vec<u8>) {
    if value < 0x80 {
        buf.push(value as u8);
    } else {
        prost::encoding::encode_varint(value, buf);
    }
}

/// A field's key as prost writes it.
fn encode_key(tag: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    encode_varint(u64::from((tag << 3) | wire_type as u32), buf);
}

fn put_varint(tag: u32, value: u64, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(value, buf);
}

/// An enum (int32) field; 0, the unspecified value, is not written.
fn put_enum(tag: u32, number: i32, buf: &mut Vec<u8>) {
    if number != 0 {
        put_varint(tag, number as i64 as u64, buf);
    }
}

fn enum_len(tag: u32, number: i32) -> usize {
    if number == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(number as i64 as u64)
    }
}

fn put_bytes(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(bytes.len() as u64, buf);
    buf.put_slice(bytes);
}

/// A proto3 `string`: not written when empty.
fn put_str(tag: u32, text: &str, buf: &mut Vec<u8>) {
    if !text.is_empty() {
        put_bytes(tag, text.as_bytes(), buf);
    }
}

fn str_len(tag: u32, text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        bytes_len(tag, text)
    }
}

/// An `optional string`: written whenever present, empty or not.
fn put_optional_str(tag: u32, text: Option<&str>, buf: &mut Vec<u8>) {
    if let Some(text) = text {
        put_bytes(tag, text.as_bytes(), buf);
    }
}

fn bytes_len(tag: u32, text: &str) -> usize {
    key_len(tag) + nested_len(text.len())
}

/// A length-delimited body of `len` bytes with its length prefix.
fn nested_len(len: usize) -> usize {
    encoded_len_varint(len as u64) + len
}

/// `pb::Time`: int64 seconds, uint32 nanos, sint32 offset, each only when not 0.
fn time_len(time: &Timestamp) -> usize {
    let (seconds, nanos, offset) = time_fields(time);
    (if seconds != 0 {
        1 + encoded_len_varint(seconds as u64)
    } else {
        0
    }) + (if nanos != 0 {
        1 + encoded_len_varint(u64::from(nanos))
    } else {
        0
    }) + (if offset != 0 {
        1 + encoded_len_varint(zigzag(offset))
    } else {
        0
    })
}

fn time_fields(time: &Timestamp) -> (i64, u32, i32) {
    (
        time.unix_seconds(),
        time.subsec_nanos(),
        time.offset_seconds(),
    )
}

fn zigzag(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

fn put_time(tag: u32, time: Option<&Timestamp>, buf: &mut Vec<u8>) {
    let Some(time) = time else {
        return;
    };
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(time_len(time) as u64, buf);
    let (seconds, nanos, offset) = time_fields(time);
    if seconds != 0 {
        put_varint(1, seconds as u64, buf);
    }
    if nanos != 0 {
        put_varint(2, u64::from(nanos), buf);
    }
    if offset != 0 {
        put_varint(3, zigzag(offset), buf);
    }
}

/// `pb::Location`: the UN/LOCODE (when not empty), then the optional facility and name.
fn location_len(location: &Location) -> usize {
    str_len(1, &location.unlocode)
        + location.facility.as_deref().map_or(0, |f| bytes_len(2, f))
        + location.name.as_deref().map_or(0, |n| bytes_len(3, n))
}

fn put_location(tag: u32, location: Option<&Location>, buf: &mut Vec<u8>) {
    let Some(location) = location else {
        return;
    };
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(location_len(location) as u64, buf);
    put_str(1, &location.unlocode, buf);
    put_optional_str(2, location.facility.as_deref(), buf);
    put_optional_str(3, location.name.as_deref(), buf);
}

fn milestone_len(milestone: &MilestoneRef<'_>) -> usize {
    str_len(1, milestone.code)
        + 1
        + nested_len(time_len(&milestone.event_time))
        + enum_len(3, milestone.classifier.to_proto())
        + milestone
            .location
            .map_or(0, |l| 1 + nested_len(location_len(l)))
        + str_len(5, milestone.source)
        + str_len(6, milestone.event_id)
        + milestone
            .recorded_time
            .map_or(0, |t| 1 + nested_len(time_len(&t)))
        + milestone.unit.map_or(0, |u| bytes_len(8, u))
        + milestone
            .empty_indicator
            .map_or(0, |e| 1 + encoded_len_varint(e.to_proto() as i64 as u64))
        + milestone.conveyance.map_or(0, |(mode, reference)| {
            1 + nested_len(conveyance_len(mode, reference))
        })
        + milestone.declaration.map_or(0, |d| bytes_len(11, d))
}

/// `pb::TransportRef`: the mode (when specified), then the reference (when not empty).
fn conveyance_len(mode: TransportMode, reference: &str) -> usize {
    enum_len(1, mode.to_proto()) + str_len(2, reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn the_zero_updated_at_is_what_prost_writes() {
        let tail = pb::ShipmentStatus {
            updated_at: Some(crate::protobuf::time_to_proto(
                &Timestamp::from_parts(0, 0, 0).expect("epoch"),
            )),
            ..Default::default()
        };
        assert_eq!(tail.encode_to_vec(), zero_updated_at());
    }
}
