//! The status record's protobuf form on `kouan.status`, both ways, and the digest that tells
//! whether a recomputed record differs from the one published.

use crate::protobuf::{location_from_proto, location_to_proto, time_from_proto, time_to_proto};
use crate::status::{Milestone, Status};
use crate::*;

impl Status {
    /// The record published on `kouan.status`.
    pub fn to_proto(&self, version: u64, updated_at: &Timestamp) -> pb::ShipmentStatus {
        let time = |time: &Option<Timestamp>| time.as_ref().map(time_to_proto);
        pb::ShipmentStatus {
            shipment_id: self.shipment_id.clone(),
            document_type: self.document_type.map_or(0, DocumentType::to_proto),
            shipper: self.shipper.clone(),
            mode: self.mode.map_or(0, ShipmentMode::to_proto),
            direction: self.direction.map_or(0, Direction::to_proto),
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            port_of_entry: self.port_of_entry.clone(),
            units: self.units.clone(),
            booked_at: time(&self.booked_at),
            received_at: time(&self.received_at),
            departed_at: time(&self.departed_at),
            arrived_at: time(&self.arrived_at),
            delivered_at: time(&self.delivered_at),
            declared_at: time(&self.declared_at),
            customs_status: self.customs_status.to_proto(),
            released_at: time(&self.released_at),
            inspected: self.inspected,
            transport_stage: self.transport_stage.to_proto(),
            advance_declared: self.advance_declared,
            clearance_hours: self.clearance_hours,
            eta: time(&self.eta),
            last_location: self.last_location.as_ref().map(location_to_proto),
            dwell_since: time(&self.dwell_since),
            milestones: self
                .milestones
                .iter()
                .map(|milestone| pb::Milestone {
                    code: milestone.code.to_string(),
                    event_time: Some(time_to_proto(&milestone.event_time)),
                    classifier: milestone.classifier.to_proto(),
                    location: milestone.location.as_ref().map(location_to_proto),
                    source: milestone.source.clone(),
                    event_id: milestone.event_id.clone(),
                    recorded_time: milestone.recorded_time.as_ref().map(time_to_proto),
                    unit: milestone.unit.clone(),
                    empty_indicator: milestone.empty_indicator.map(EmptyIndicator::to_proto),
                    conveyance: milestone.conveyance.as_ref().map(|c| pb::TransportRef {
                        mode: c.mode.to_proto(),
                        reference: c.reference.to_string(),
                    }),
                    declaration: milestone.declaration.clone(),
                })
                .collect(),
            version,
            updated_at: Some(time_to_proto(updated_at)),
        }
    }

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
/// processor digests every record it derives, and FNV-1a's byte at a time took a tenth of its
/// core. Only compared within one build's processes — a checkpoint of another's is not used.
pub fn content_digest(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

impl Status {
    /// Reads a record back from `kouan.status` (the alerter and the store consume them); never panics.
    /// Milestone codes must be codes of the contract.
    pub fn from_proto(record: pb::ShipmentStatus) -> Result<(Status, u64), Reject> {
        if record.shipment_id.is_empty() {
            return Err(Reject::missing("shipmentId"));
        }
        let time = |field: &str, time: Option<pb::Time>| {
            time.map(|t| time_from_proto(field, &t)).transpose()
        };
        let code_of = |code: &str| KNOWN_CODES.get(code).copied();
        let mut milestones = Vec::with_capacity(record.milestones.len());
        for milestone in record.milestones {
            milestones.push(Milestone {
                code: code_of(&milestone.code).ok_or_else(|| {
                    Reject::new(
                        "milestones.code",
                        format!("unknown code `{}`", milestone.code),
                    )
                })?,
                event_time: time("milestones.eventTime", milestone.event_time)?
                    .ok_or_else(|| Reject::new("milestones.eventTime", "is required"))?,
                classifier: classifier_of(milestone.classifier),
                location: milestone.location.map(location_from_proto),
                source: milestone.source,
                event_id: milestone.event_id,
                recorded_time: time("milestones.recordedTime", milestone.recorded_time)?,
                unit: milestone.unit,
                empty_indicator: milestone
                    .empty_indicator
                    .and_then(EmptyIndicator::from_proto),
                conveyance: milestone
                    .conveyance
                    .map(|c| {
                        TransportMode::from_proto(c.mode)
                            .map(|mode| TransportRef {
                                mode,
                                reference: c.reference.into(),
                            })
                            .ok_or_else(|| Reject::new("milestones.conveyance.mode", "is required"))
                    })
                    .transpose()?,
                declaration: milestone.declaration,
            });
        }
        let status = Status {
            shipment_id: record.shipment_id,
            document_type: DocumentType::from_proto(record.document_type),
            shipper: record.shipper,
            mode: ShipmentMode::from_proto(record.mode),
            direction: Direction::from_proto(record.direction),
            origin: record.origin,
            destination: record.destination,
            port_of_entry: record.port_of_entry,
            units: record.units,
            booked_at: time("bookedAt", record.booked_at)?,
            received_at: time("receivedAt", record.received_at)?,
            departed_at: time("departedAt", record.departed_at)?,
            arrived_at: time("arrivedAt", record.arrived_at)?,
            delivered_at: time("deliveredAt", record.delivered_at)?,
            declared_at: time("declaredAt", record.declared_at)?,
            customs_status: customs_state_of(record.customs_status),
            released_at: time("releasedAt", record.released_at)?,
            inspected: record.inspected,
            transport_stage: transport_stage_of(record.transport_stage),
            advance_declared: record.advance_declared,
            clearance_hours: record.clearance_hours,
            eta: time("eta", record.eta)?,
            last_location: record.last_location.map(location_from_proto),
            dwell_since: time("dwellSince", record.dwell_since)?,
            milestones,
        };
        Ok((status, record.version))
    }
}

/// A record's customs state from its protobuf number: unspecified or unknown numbers read as
/// not declared.
pub(crate) fn customs_state_of(number: i32) -> CustomsState {
    CustomsState::from_proto(number).unwrap_or(CustomsState::NotDeclared)
}

/// A record's transport stage from its protobuf number: unspecified or unknown read as booked.
pub(crate) fn transport_stage_of(number: i32) -> TransportStage {
    TransportStage::from_proto(number).unwrap_or(TransportStage::Booked)
}

/// A milestone's classifier from its protobuf number: unspecified or unknown read as actual.
pub(crate) fn classifier_of(number: i32) -> Classifier {
    Classifier::from_proto(number).unwrap_or(Classifier::Act)
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
