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

use crate::status_fields::FromNumber;
use crate::{Reject, TransportMode};

/// The type of a field of [`StatusView`] or [`MilestoneView`], by its kind: texts borrowed,
/// instants as Unix milliseconds, places as their UN/LOCODE.
macro_rules! viewed {
    (text) => { &'a str };
    (milestone_code) => { &'a str };
    (opt_text) => { Option<&'a str> };
    (texts) => { Vec<&'a str> };
    ((code $t:ty)) => { Option<$t> };
    ((opt_code $t:ty)) => { Option<$t> };
    ((state $t:ty)) => { $t };
    (time) => { Option<i64> };
    (at) => { i64 };
    (flag) => { bool };
    (opt_flag) => { Option<bool> };
    (hours) => { Option<f64> };
    (place) => { Option<&'a str> };
    (conveyance) => { Option<(Option<TransportMode>, &'a str)> };
    (milestones) => { Vec<MilestoneView<'a>> };
}

/// A field's value before the wire names it.
macro_rules! unread {
    (text) => {
        ""
    };
    (milestone_code) => {
        ""
    };
    (texts) => {
        Vec::new()
    };
    (milestones) => {
        Vec::new()
    };
    ((state $t:ty)) => {
        <$t as FromNumber>::from_number(0)
    };
    (flag) => {
        false
    };
    ($other:tt) => {
        None
    };
}

/// Reads a field's value off the wire into its slot: the last value wins, repeated ones append.
macro_rules! read {
    (text, $slot:ident, $value:ident) => {
        $slot = $value.text()?
    };
    (milestone_code, $slot:ident, $value:ident) => {
        $slot = $value.text()?
    };
    (opt_text, $slot:ident, $value:ident) => {
        $slot = Some($value.text()?)
    };
    (texts, $slot:ident, $value:ident) => {
        $slot.push($value.text()?)
    };
    ((code $t:ty), $slot:ident, $value:ident) => {
        $slot = <$t>::from_proto($value.int32()?)
    };
    ((opt_code $t:ty), $slot:ident, $value:ident) => {
        $slot = <$t>::from_proto($value.int32()?)
    };
    ((state $t:ty), $slot:ident, $value:ident) => {
        $slot = <$t as FromNumber>::from_number($value.int32()?)
    };
    (time, $slot:ident, $value:ident) => {
        $slot = Some($value.millis()?)
    };
    (at, $slot:ident, $value:ident) => {
        $slot = Some($value.millis()?)
    };
    (flag, $slot:ident, $value:ident) => {
        $slot = $value.varint()? != 0
    };
    (opt_flag, $slot:ident, $value:ident) => {
        $slot = Some($value.varint()? != 0)
    };
    (hours, $slot:ident, $value:ident) => {
        $slot = Some($value.double()?)
    };
    (place, $slot:ident, $value:ident) => {
        $slot = Some($value.unlocode()?)
    };
    (conveyance, $slot:ident, $value:ident) => {
        $slot = Some(read_conveyance($value.bytes()?)?)
    };
    (milestones, $slot:ident, $value:ident) => {
        $slot.push(MilestoneView::read($value.bytes()?)?)
    };
}

/// A slot's value once every field is read: a required one must have been there.
macro_rules! required {
    (at, $path:expr, $slot:ident) => {
        $slot.ok_or_else(|| Reject::new($path, "is required"))?
    };
    ($other:tt, $path:expr, $slot:ident) => {
        $slot
    };
}

macro_rules! declare_status_view {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// A status record's fields, borrowed from its encoding.
        #[derive(Debug, Clone, PartialEq)]
        pub struct StatusView<'a> {
            $(pub $name: viewed!($kind),)*
            pub version: u64,
            pub updated_at: Option<i64>,
        }

        impl<'a> StatusView<'a> {
            /// Reads a `kouan.status` value; malformed bytes are an error (never a panic), but
            /// nothing beyond the wire is checked (see the module's docs).
            pub fn read(bytes: &'a [u8]) -> Result<Self, Reject> {
                $(let mut $name: viewed!($kind) = unread!($kind);)*
                let (mut version, mut updated_at) = (0, None);
                let mut fields = Fields(bytes);
                while let Some((tag, value)) = fields.next_field()? {
                    match tag {
                        $($tag => read!($kind, $name, value),)*
                        26 => version = value.varint()?,
                        27 => updated_at = Some(value.millis()?),
                        _ => {}
                    }
                }
                Ok(StatusView { $($name,)* version, updated_at })
            }
        }
    };
}
crate::status_fields!(declare_status_view);

macro_rules! declare_milestone_view {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// One milestone of a [`StatusView`].
        #[derive(Debug, Clone, PartialEq)]
        pub struct MilestoneView<'a> {
            $(pub $name: viewed!($kind),)*
        }

        impl<'a> MilestoneView<'a> {
            fn read(bytes: &'a [u8]) -> Result<Self, Reject> {
                $(let mut $name = unread!($kind);)*
                let mut fields = Fields(bytes);
                while let Some((tag, value)) = fields.next_field()? {
                    match tag {
                        $($tag => read!($kind, $name, value),)*
                        _ => {}
                    }
                }
                Ok(MilestoneView {
                    $($name: required!($kind, concat!("milestones.", $json), $name),)*
                })
            }
        }
    };
}
crate::milestone_fields!(declare_milestone_view);

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
