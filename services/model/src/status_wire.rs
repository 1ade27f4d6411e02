//! The status record's protobuf form on `kouan.status`, both ways, and the digest that tells
//! whether a recomputed record differs from the one published.

use crate::protobuf::{location_from_proto, location_to_proto, time_from_proto, time_to_proto};
use crate::status::{Milestone, Status};
use crate::status_fields::FromNumber;
use crate::*;

/// A field of an owned record as the generated `pb` type holds it.
macro_rules! to_pb {
    (text, $x:expr) => {
        $x.clone()
    };
    (opt_text, $x:expr) => {
        $x.clone()
    };
    (texts, $x:expr) => {
        $x.clone()
    };
    ((code $t:ty), $x:expr) => {
        $x.map_or(0, <$t>::to_proto)
    };
    ((opt_code $t:ty), $x:expr) => {
        $x.map(<$t>::to_proto)
    };
    ((state $t:ty), $x:expr) => {
        $x.to_proto()
    };
    (time, $x:expr) => {
        $x.as_ref().map(time_to_proto)
    };
    (at, $x:expr) => {
        Some(time_to_proto(&$x))
    };
    (place, $x:expr) => {
        $x.as_ref().map(location_to_proto)
    };
    (milestone_code, $x:expr) => {
        $x.to_string()
    };
    (conveyance, $x:expr) => {
        $x.as_ref().map(|c| pb::TransportRef {
            mode: c.mode.to_proto(),
            reference: c.reference.to_string(),
        })
    };
    (milestones, $x:expr) => {
        $x.iter().map(Milestone::to_proto).collect()
    };
    ($copied:tt, $x:expr) => {
        $x
    };
}

/// A field of a generated `pb` record as the owned record holds it; `$path` names it in a
/// rejection.
macro_rules! from_pb {
    ((code $t:ty), $path:expr, $x:expr) => {
        <$t>::from_proto($x)
    };
    ((opt_code $t:ty), $path:expr, $x:expr) => {
        $x.and_then(<$t>::from_proto)
    };
    ((state $t:ty), $path:expr, $x:expr) => {
        <$t as FromNumber>::from_number($x)
    };
    (time, $path:expr, $x:expr) => {
        $x.map(|t| time_from_proto($path, &t)).transpose()?
    };
    (at, $path:expr, $x:expr) => {
        time_from_proto($path, &$x.ok_or_else(|| Reject::new($path, "is required"))?)?
    };
    (place, $path:expr, $x:expr) => {
        $x.map(location_from_proto)
    };
    (milestone_code, $path:expr, $x:expr) => {
        KNOWN_CODES
            .get($x.as_str())
            .copied()
            .ok_or_else(|| Reject::new($path, format!("unknown code `{}`", $x)))?
    };
    (conveyance, $path:expr, $x:expr) => {
        $x.map(|c| {
            TransportMode::from_proto(c.mode)
                .map(|mode| TransportRef {
                    mode,
                    reference: c.reference.into(),
                })
                .ok_or_else(|| Reject::new(concat!($path, ".mode"), "is required"))
        })
        .transpose()?
    };
    (milestones, $path:expr, $x:expr) => {
        $x.into_iter()
            .map(Milestone::from_proto)
            .collect::<Result<_, _>>()?
    };
    ($moved:tt, $path:expr, $x:expr) => {
        $x
    };
}

macro_rules! status_to_and_from_pb {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        impl Status {
            /// The record published on `kouan.status`.
            pub fn to_proto(&self, version: u64, updated_at: &Timestamp) -> pb::ShipmentStatus {
                pb::ShipmentStatus {
                    $($name: to_pb!($kind, self.$name),)*
                    version,
                    updated_at: Some(time_to_proto(updated_at)),
                }
            }

            /// Reads a record back from `kouan.status` (the alerter and the store consume
            /// them); never panics. Milestone codes must be codes of the contract.
            pub fn from_proto(record: pb::ShipmentStatus) -> Result<(Status, u64), Reject> {
                if record.shipment_id.is_empty() {
                    return Err(Reject::missing("shipmentId"));
                }
                let status = Status { $($name: from_pb!($kind, $json, record.$name),)* };
                Ok((status, record.version))
            }
        }
    };
}
crate::status_fields!(status_to_and_from_pb);

macro_rules! milestone_to_and_from_pb {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        impl Milestone {
            fn to_proto(&self) -> pb::Milestone {
                pb::Milestone { $($name: to_pb!($kind, self.$name),)* }
            }

            fn from_proto(milestone: pb::Milestone) -> Result<Milestone, Reject> {
                Ok(Milestone {
                    $($name: from_pb!($kind, concat!("milestones.", $json), milestone.$name),)*
                })
            }
        }
    };
}
crate::milestone_fields!(milestone_to_and_from_pb);

impl Status {
    /// The record to publish and the digest of its derived content (everything but `version`
    /// and `updatedAt`), from one conversion: the digest tells whether a recomputed record
    /// differs from the one last published.
    pub fn record(&self, version: u64, updated_at: &Timestamp) -> (pb::ShipmentStatus, u64) {
        use prost::Message;
        let zero = Timestamp::from_parts(0, 0, 0).expect("epoch");
        let mut record = self.to_proto(0, &zero);
        let digest = content_digest(&record.encode_to_vec());
        record.version = version;
        record.updated_at = Some(time_to_proto(updated_at));
        (record, digest)
    }

    /// The record's derived content encoded once, with its digest (as [`Status::record`]'s):
    /// [`EncodedStatus::payload`] appends the version and `updatedAt` without converting or
    /// encoding the rest again. `version` and `updatedAt` are the message's last fields and prost
    /// writes fields in order, so the payload is byte for byte the whole record's encoding.
    pub fn encoded(&self) -> EncodedStatus {
        self.as_ref().encoded()
    }
}

/// A status record's content encoded once ([`Status::encoded`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedStatus {
    /// Every field but `version` and `updatedAt`, encoded.
    content: Vec<u8>,
    /// The digest of the derived content: equal to [`Status::record`]'s.
    pub digest: u64,
}

impl EncodedStatus {
    pub(crate) fn from_content(content: Vec<u8>, digest: u64) -> Self {
        EncodedStatus { content, digest }
    }

    /// The record as published: the content, then `version` and `updatedAt`.
    pub fn payload(mut self, version: u64, updated_at: &Timestamp) -> Vec<u8> {
        use prost::Message;
        let tail = pb::ShipmentStatus {
            version,
            updated_at: Some(time_to_proto(updated_at)),
            ..Default::default()
        };
        tail.encode(&mut self.content)
            .expect("a Vec grows as needed");
        self.content
    }
}

/// 64-bit FNV-1a: stable across processes and versions, unlike std's `DefaultHasher`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV1A_START, bytes)
}

/// [`fnv1a`]'s starting value, for hashing in pieces with [`fnv1a_extend`].
pub const FNV1A_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues an FNV-1a hash over more bytes: `fnv1a(a ++ b) == fnv1a_extend(fnv1a(a), b)`.
pub fn fnv1a_extend(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The digest of a record read back from `kouan.status`, comparable with the digest of [`Status::record`].
pub fn digest_of_record(mut record: pb::ShipmentStatus) -> u64 {
    use prost::Message;
    record.version = 0;
    record.updated_at = Some(time_to_proto(
        &Timestamp::from_parts(0, 0, 0).expect("epoch"),
    ));
    content_digest(&record.encode_to_vec())
}

/// The digest of a status record's derived content: the record encoded with `version` 0 and
/// `updatedAt` the epoch. XXH3 (64 bits; a fixed algorithm, the same in every build): the
/// processor digests every record it derives, and FNV-1a's byte at a time was a large share of
/// its core. Only compared within one build's processes — a checkpoint of another's is not used.
pub fn content_digest(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// Every milestone code of the contract (each kind's), looked up once per milestone read.
static KNOWN_CODES: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| {
        ShipmentEventType::ALL
            .iter()
            .map(|c| c.code())
            .chain(EquipmentEventType::ALL.iter().map(|c| c.code()))
            .chain(TransportEventType::ALL.iter().map(|c| c.code()))
            .chain(AirStatus::ALL.iter().map(|c| c.code()))
            .chain(CustomsStatus::ALL.iter().map(|c| c.code()))
            .collect()
    });

/// A record as read from `kouan.status`: the status with its emission's version and time.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedStatus {
    pub status: Status,
    pub version: u64,
    pub updated_at: Option<Timestamp>,
}

impl PublishedStatus {
    /// Decodes a `kouan.status` value; the rejection names the field at fault. Never panics,
    /// whatever the bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Reject> {
        use prost::Message;
        let record = pb::ShipmentStatus::decode(bytes)
            .map_err(|error| Reject::new("(protobuf)", error.to_string()))?;
        let updated_at = record
            .updated_at
            .as_ref()
            .map(|time| time_from_proto("updatedAt", time))
            .transpose()?;
        let (status, version) = Status::from_proto(record)?;
        Ok(PublishedStatus {
            status,
            version,
            updated_at,
        })
    }
}
