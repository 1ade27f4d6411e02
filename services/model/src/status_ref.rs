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

/// The borrowed type of a field of [`StatusRef`] or [`MilestoneRef`], by its kind.
macro_rules! borrowed {
    (text) => { &'a str };
    (opt_text) => { Option<&'a str> };
    (texts) => { &'a [String] };
    ((code $t:ty)) => { Option<$t> };
    ((opt_code $t:ty)) => { Option<$t> };
    ((state $t:ty)) => { $t };
    (time) => { Option<Timestamp> };
    (at) => { Timestamp };
    (flag) => { bool };
    (opt_flag) => { Option<bool> };
    (hours) => { Option<f64> };
    (place) => { Option<&'a Location> };
    (milestone_code) => { &'static str };
    (conveyance) => { Option<(TransportMode, &'a str)> };
    (milestones) => { Vec<MilestoneRef<'a>> };
}

/// A field of an owned record, borrowed.
macro_rules! borrow {
    (text, $x:expr) => {
        $x.as_str()
    };
    (opt_text, $x:expr) => {
        $x.as_deref()
    };
    (texts, $x:expr) => {
        &$x
    };
    (place, $x:expr) => {
        $x.as_ref()
    };
    (conveyance, $x:expr) => {
        $x.as_ref().map(|c| (c.mode, c.reference.as_str()))
    };
    (milestones, $x:expr) => {
        $x.iter().map(Milestone::as_ref).collect()
    };
    ($copied:tt, $x:expr) => {
        $x
    };
}

/// A borrowed field, owned.
macro_rules! own {
    (text, $x:expr) => {
        $x.to_string()
    };
    (opt_text, $x:expr) => {
        $x.map(str::to_string)
    };
    (texts, $x:expr) => {
        $x.to_vec()
    };
    (place, $x:expr) => {
        $x.cloned()
    };
    (conveyance, $x:expr) => {
        $x.map(|(mode, reference)| TransportRef {
            mode,
            reference: reference.into(),
        })
    };
    (milestones, $x:expr) => {
        $x.iter().map(MilestoneRef::to_owned).collect()
    };
    ($copied:tt, $x:expr) => {
        $x
    };
}

/// Writes a field as prost does: proto3 scalars only when not their default, `optional` ones
/// and messages whenever present, repeated ones element by element.
macro_rules! put {
    (text, $tag:literal, $x:expr, $buf:ident) => {
        put_str($tag, $x, $buf)
    };
    (milestone_code, $tag:literal, $x:expr, $buf:ident) => {
        put_str($tag, $x, $buf)
    };
    (opt_text, $tag:literal, $x:expr, $buf:ident) => {
        put_optional_str($tag, $x, $buf)
    };
    (texts, $tag:literal, $x:expr, $buf:ident) => {
        for text in $x {
            put_bytes($tag, text.as_bytes(), $buf);
        }
    };
    ((code $t:ty), $tag:literal, $x:expr, $buf:ident) => {
        put_enum($tag, $x.map_or(0, <$t>::to_proto), $buf)
    };
    ((opt_code $t:ty), $tag:literal, $x:expr, $buf:ident) => {
        if let Some(value) = $x {
            put_varint($tag, value.to_proto() as i64 as u64, $buf);
        }
    };
    ((state $t:ty), $tag:literal, $x:expr, $buf:ident) => {
        put_enum($tag, $x.to_proto(), $buf)
    };
    (time, $tag:literal, $x:expr, $buf:ident) => {
        put_time($tag, $x.as_ref(), $buf)
    };
    (at, $tag:literal, $x:expr, $buf:ident) => {
        put_time($tag, Some(&$x), $buf)
    };
    (flag, $tag:literal, $x:expr, $buf:ident) => {
        if $x {
            put_varint($tag, 1, $buf);
        }
    };
    (opt_flag, $tag:literal, $x:expr, $buf:ident) => {
        if let Some(value) = $x {
            put_varint($tag, u64::from(value), $buf);
        }
    };
    (hours, $tag:literal, $x:expr, $buf:ident) => {
        if let Some(value) = $x {
            encode_key($tag, WireType::SixtyFourBit, $buf);
            $buf.put_f64_le(value);
        }
    };
    (place, $tag:literal, $x:expr, $buf:ident) => {
        put_location($tag, $x, $buf)
    };
    (conveyance, $tag:literal, $x:expr, $buf:ident) => {
        if let Some((mode, reference)) = $x {
            encode_key($tag, WireType::LengthDelimited, $buf);
            encode_varint(conveyance_len(mode, reference) as u64, $buf);
            put_enum(1, mode.to_proto(), $buf);
            put_str(2, reference, $buf);
        }
    };
    (milestones, $tag:literal, $x:expr, $buf:ident) => {
        for milestone in $x.iter() {
            encode_key($tag, WireType::LengthDelimited, $buf);
            encode_varint(milestone.encoded_len() as u64, $buf);
            milestone.encode($buf);
        }
    };
}

/// The length [`put!`] writes.
macro_rules! len {
    (text, $tag:literal, $x:expr) => {
        str_len($tag, $x)
    };
    (milestone_code, $tag:literal, $x:expr) => {
        str_len($tag, $x)
    };
    (opt_text, $tag:literal, $x:expr) => {
        $x.map_or(0, |text| bytes_len($tag, text))
    };
    (texts, $tag:literal, $x:expr) => {
        $x.iter().map(|text| bytes_len($tag, text)).sum::<usize>()
    };
    ((code $t:ty), $tag:literal, $x:expr) => {
        enum_len($tag, $x.map_or(0, <$t>::to_proto))
    };
    ((opt_code $t:ty), $tag:literal, $x:expr) => {
        $x.map_or(0, |value| {
            key_len($tag) + encoded_len_varint(value.to_proto() as i64 as u64)
        })
    };
    ((state $t:ty), $tag:literal, $x:expr) => {
        enum_len($tag, $x.to_proto())
    };
    (time, $tag:literal, $x:expr) => {
        $x.as_ref()
            .map_or(0, |time| key_len($tag) + nested_len(time_len(time)))
    };
    (at, $tag:literal, $x:expr) => {
        key_len($tag) + nested_len(time_len(&$x))
    };
    (flag, $tag:literal, $x:expr) => {
        if $x {
            key_len($tag) + 1
        } else {
            0
        }
    };
    (opt_flag, $tag:literal, $x:expr) => {
        $x.map_or(0, |_| key_len($tag) + 1)
    };
    (hours, $tag:literal, $x:expr) => {
        $x.map_or(0, |_| key_len($tag) + 8)
    };
    (place, $tag:literal, $x:expr) => {
        $x.map_or(0, |place| key_len($tag) + nested_len(location_len(place)))
    };
    (conveyance, $tag:literal, $x:expr) => {
        $x.map_or(0, |(mode, reference)| {
            key_len($tag) + nested_len(conveyance_len(mode, reference))
        })
    };
    (milestones, $tag:literal, $x:expr) => {
        $x.iter()
            .map(|milestone| key_len($tag) + nested_len(milestone.encoded_len()))
            .sum::<usize>()
    };
}

macro_rules! declare_status_ref {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// [`Status`] with its text borrowed.
        #[derive(Debug, Clone, PartialEq)]
        pub struct StatusRef<'a> {
            $($(#[doc = $doc])* pub $name: borrowed!($kind),)*
        }

        impl Status {
            /// This record, borrowed.
            pub fn as_ref(&self) -> StatusRef<'_> {
                StatusRef { $($name: borrow!($kind, self.$name),)* }
            }
        }

        impl StatusRef<'_> {
            /// The owned record.
            pub fn to_owned(&self) -> Status {
                Status { $($name: own!($kind, self.$name),)* }
            }

            /// Every field of `pb::ShipmentStatus` but `version` and `updated_at`, in field
            /// order, as prost writes them.
            fn encode_content(&self, buf: &mut Vec<u8>) {
                $(put!($kind, $tag, self.$name, buf);)*
            }

            /// The length [`StatusRef::encode_content`] writes, so that its buffer is allocated
            /// once.
            fn content_len(&self) -> usize {
                0 $(+ len!($kind, $tag, self.$name))*
            }
        }
    };
}
crate::status_fields!(declare_status_ref);

macro_rules! declare_milestone_ref {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// [`Milestone`] with its text borrowed.
        #[derive(Debug, Clone, PartialEq)]
        pub struct MilestoneRef<'a> {
            $($(#[doc = $doc])* pub $name: borrowed!($kind),)*
        }

        impl Milestone {
            /// This milestone, borrowed.
            pub fn as_ref(&self) -> MilestoneRef<'_> {
                MilestoneRef { $($name: borrow!($kind, self.$name),)* }
            }
        }

        impl MilestoneRef<'_> {
            /// The owned milestone.
            pub fn to_owned(&self) -> Milestone {
                Milestone { $($name: own!($kind, self.$name),)* }
            }

            fn encode(&self, buf: &mut Vec<u8>) {
                $(put!($kind, $tag, self.$name, buf);)*
            }

            fn encoded_len(&self) -> usize {
                0 $(+ len!($kind, $tag, self.$name))*
            }
        }
    };
}
crate::milestone_fields!(declare_milestone_ref);

impl StatusRef<'_> {
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
}

/// `pb::ShipmentStatus { updated_at: Some(epoch), .. }` encoded: the digest covers the content
/// followed by it, as [`Status::encoded`] always has (the digest of a record read back, with its
/// `updatedAt` set to the epoch, is the same).
fn zero_updated_at() -> &'static [u8] {
    // field 27, length-delimited (key 27 << 3 | 2 = 218 = 0xDA 0x01), an empty Time
    &[0xDA, 0x01, 0x00]
}

/// A varint as prost writes it; most here (keys, lengths, enums) are one byte, written without
/// prost's general loop, a visible share of deriving and encoding.
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
