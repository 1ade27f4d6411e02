//! An air shipment's status as IATA ONE Record (API 2.x, data model 3.x, JSON-LD): its Waybill,
//! Shipment and Piece logistics objects and the LogisticsEvents of its air statuses — what
//! `kouan serve` answers under `/onerecord` (`docs/standards/onerecord-out.md`). Pure: a status
//! record and the server's base IRI in, JSON-LD out.

use super::CARGO;
use crate::stations;
use kouan_model::status::Milestone;
use kouan_model::*;
use serde_json::{json, Value};

pub const API: &str = "https://onerecord.iata.org/ns/api#";
pub const STATUS_CODES: &str = "https://onerecord.iata.org/ns/code-lists/StatusCode#";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// The logistics objects kouan holds for an air shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Waybill,
    Shipment,
    /// One Piece stands for the consignment's pieces: kouan's events count pieces at best,
    /// they never name them.
    Piece,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 3] = [ObjectKind::Waybill, ObjectKind::Shipment, ObjectKind::Piece];

    fn prefix(self) -> &'static str {
        match self {
            ObjectKind::Waybill => "waybill-",
            ObjectKind::Shipment => "shipment-",
            ObjectKind::Piece => "piece-",
        }
    }

    /// Its type's IRI (`Type` header, `hasLogisticsObjectType`).
    pub fn type_iri(self) -> String {
        format!("{CARGO}{}", self.name())
    }

    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Waybill => "Waybill",
            ObjectKind::Shipment => "Shipment",
            ObjectKind::Piece => "Piece",
        }
    }

    pub fn of_type(iri: &str) -> Option<ObjectKind> {
        let name = iri
            .strip_prefix(CARGO)
            .or_else(|| iri.strip_prefix("cargo:"))?;
        ObjectKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A logistics object's id (the last segment of its IRI) for an air waybill number.
pub fn object_id(kind: ObjectKind, awb: &str) -> String {
    format!("{}{awb}", kind.prefix())
}

/// The kind and the air waybill number of a logistics object's id.
pub fn parse_object_id(id: &str) -> Option<(ObjectKind, &str)> {
    ObjectKind::ALL
        .into_iter()
        .find_map(|kind| id.strip_prefix(kind.prefix()).map(|awb| (kind, awb)))
        .filter(|(_, awb)| !awb.is_empty())
}

/// Whether ONE Record serves this shipment: an air shipment (mode AIR or an AWB).
pub fn is_air(status: &Status) -> bool {
    status.mode == Some(ShipmentMode::Air) || status.document_type == Some(DocumentType::Awb)
}

fn date_time(at: &Timestamp) -> Value {
    json!({"@type": format!("{XSD}dateTime"), "@value": at.to_rfc3339()})
}

fn revision(value: u64) -> Value {
    json!({"@type": format!("{XSD}positiveInteger"), "@value": value.max(1).to_string()})
}

fn place(unlocode: &str) -> Value {
    let code = stations::by_unlocode(unlocode).map_or(unlocode, |s| s.iata);
    json!({"@type": "cargo:Location",
           "cargo:locationCodes": [{"@type": "cargo:CodeListElement", "cargo:code": code}]})
}

/// A logistics object of the shipment, at revision `revision` (the status record's version).
pub fn object(kind: ObjectKind, status: &Status, base: &str, revision_number: u64) -> Value {
    let awb = status.shipment_id.as_str();
    let iri = |kind| format!("{base}/logistics-objects/{}", object_id(kind, awb));
    let mut value = json!({
        "@context": {"cargo": CARGO, "api": API},
        "@id": iri(kind),
        "@type": format!("cargo:{}", kind.name()),
        "api:hasRevision": revision(revision_number),
        "api:hasLatestRevision": revision(revision_number),
    });
    let object = value.as_object_mut().expect("an object");
    match kind {
        ObjectKind::Waybill => {
            let (prefix, number) = awb.split_once('-').unwrap_or(("", awb));
            object.insert("cargo:waybillType".into(), json!({"@id": "cargo:MASTER"}));
            object.insert("cargo:waybillPrefix".into(), json!(prefix));
            object.insert("cargo:waybillNumber".into(), json!(number));
            object.insert(
                "cargo:shipment".into(),
                json!({"@id": iri(ObjectKind::Shipment)}),
            );
            if let Some(origin) = &status.origin {
                object.insert("cargo:departureLocation".into(), place(origin));
            }
            if let Some(destination) = &status.destination {
                object.insert("cargo:arrivalLocation".into(), place(destination));
            }
        }
        ObjectKind::Shipment => {
            object.insert(
                "cargo:waybill".into(),
                json!({"@id": iri(ObjectKind::Waybill)}),
            );
            object.insert(
                "cargo:pieces".into(),
                json!([{"@id": iri(ObjectKind::Piece)}]),
            );
        }
        ObjectKind::Piece => {
            object.insert(
                "cargo:ofShipment".into(),
                json!({"@id": iri(ObjectKind::Shipment)}),
            );
        }
    }
    value
}

/// One LogisticsEvent of a logistics object.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticsEvent {
    /// The last segment of its IRI: stable for the event (its source and id).
    pub slug: String,
    /// The IATA status code (`DEP`, `RCF`, …).
    pub code: &'static str,
    pub created: Timestamp,
    pub occurred: Timestamp,
    pub classifier: Classifier,
    pub location: Option<String>,
    pub flight: Option<String>,
}

/// The LogisticsEvents of the shipment: its air statuses (bookings and customs decisions are
/// kouan's own records, not air statuses), in the order of the milestones.
pub fn events(status: &Status) -> Vec<LogisticsEvent> {
    status.milestones.iter().filter_map(event).collect()
}

fn event(milestone: &Milestone) -> Option<LogisticsEvent> {
    let status = AirStatus::from_code(milestone.code)?;
    Some(LogisticsEvent {
        slug: super::write::slug(&format!("{}-{}", milestone.source, milestone.event_id)),
        code: status.code(),
        created: milestone.recorded_time.unwrap_or(milestone.event_time),
        occurred: milestone.event_time,
        classifier: milestone.classifier,
        location: milestone.location.as_ref().map(|l| l.unlocode.clone()),
        flight: milestone
            .conveyance
            .as_ref()
            .filter(|c| c.mode == TransportMode::Air)
            .map(|c| c.reference.to_string()),
    })
}

impl LogisticsEvent {
    /// Its IRI under the logistics object `object_iri`.
    pub fn iri(&self, object_iri: &str) -> String {
        format!("{object_iri}/logistics-events/{}", self.slug)
    }

    /// As JSON-LD, an event for `object_iri` of `kind`.
    pub fn to_json(&self, object_iri: &str, kind: ObjectKind) -> Value {
        let time_type = match self.classifier {
            Classifier::Act => "cargo:ACTUAL",
            Classifier::Est => "cargo:ESTIMATED",
            Classifier::Pln => "cargo:PLANNED",
        };
        let mut value = json!({
            "@id": self.iri(object_iri),
            "@type": "cargo:LogisticsEvent",
            "cargo:eventCode": {"@id": format!("{STATUS_CODES}{}", self.code), "@type": "cargo:CodeListElement", "cargo:code": self.code},
            "cargo:eventDate": date_time(&self.occurred),
            "cargo:creationDate": date_time(&self.created),
            "cargo:eventTimeType": {"@id": time_type},
            "cargo:eventFor": {"@id": object_iri, "@type": format!("cargo:{}", kind.name())},
        });
        let object = value.as_object_mut().expect("an object");
        if let Some(location) = &self.location {
            object.insert("cargo:eventLocation".into(), place(location));
        }
        if let Some(flight) = &self.flight {
            object.insert(
                "cargo:transportMovementReference".into(),
                json!({"@type": "cargo:TransportMovement", "cargo:transportIdentifier": flight}),
            );
        }
        value
    }
}
