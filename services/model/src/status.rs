//! The published status record of STATUS.md as plain data, and the domain predicates every
//! service reads it by — moving, waiting at a node, finished, dwell hours — each defined here once
//! so that the processor, the alerter, the API and the dashboard agree about the same shipment.

use crate::{
    AirStatus, Classifier, CustomsState, CustomsStatus, Direction, DocumentType, EmptyIndicator,
    Location, ShipmentEventType, ShipmentMode, Timestamp, TransportRef, TransportStage,
};

const HOUR_MS: f64 = 3_600_000.0;

/// One shipment's full-process status: a pure function of its events (STATUS.md). `version` and
/// `updatedAt` are not here: they belong to the emission, not to the derivation.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub shipment_id: String,
    pub document_type: Option<DocumentType>,
    pub shipper: Option<String>,
    pub mode: Option<ShipmentMode>,
    pub direction: Option<Direction>,
    pub origin: Option<String>,
    pub destination: Option<String>,
    /// The booking's port of entry, defaulting to its destination.
    pub port_of_entry: Option<String>,
    pub units: Vec<String>,
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
    pub last_location: Option<Location>,
    pub dwell_since: Option<Timestamp>,
    pub milestones: Vec<Milestone>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    pub code: &'static str,
    pub event_time: Timestamp,
    pub classifier: Classifier,
    pub location: Option<Location>,
    pub source: String,
    pub event_id: String,
    /// The `recordedTime` of the version counted.
    pub recorded_time: Option<Timestamp>,
    /// Equipment events: the unit and whether it was empty.
    pub unit: Option<String>,
    pub empty_indicator: Option<EmptyIndicator>,
    /// An equipment event's transport, a transport event's own, an air event's flight.
    pub conveyance: Option<TransportRef>,
    /// Customs events: the declaration number.
    pub declaration: Option<String>,
}

impl Milestone {
    /// An actual milestone at `unlocode`: what hand-made records (tests, benchmarks) are made of.
    pub fn actual_at(
        code: &'static str,
        event_time: Timestamp,
        unlocode: &str,
        source: &str,
        event_id: String,
    ) -> Self {
        Milestone {
            code,
            event_time,
            classifier: Classifier::Act,
            location: Some(Location {
                unlocode: unlocode.to_string(),
                facility: None,
                name: None,
            }),
            source: source.to_string(),
            event_id,
            recorded_time: None,
            unit: None,
            empty_indicator: None,
            conveyance: None,
            declaration: None,
        }
    }

    /// A movement of the cargo (an equipment, transport or air event other than a booking), as
    /// opposed to a booking change or a customs decision.
    pub fn is_movement(&self) -> bool {
        is_movement_code(self.code)
    }

    /// A departure, or a border passed on the move: after it the cargo waits nowhere.
    pub fn is_departure(&self) -> bool {
        matches!(self.code, "DEPARTED" | "DEP" | "BORDER_CROSSED")
    }
}

/// Whether a milestone code stands for a movement of the cargo: [`crate::Body::is_movement`] on
/// the code a milestone keeps of its body (the codes of the kinds do not overlap).
pub fn is_movement_code(code: &str) -> bool {
    ShipmentEventType::from_code(code).is_none()
        && CustomsStatus::from_code(code).is_none()
        && code != AirStatus::Bkd.code()
}

impl Status {
    /// A record with nothing known but its id: what derivation starts from, and the base that
    /// tests and benchmarks fill in with `..Status::empty(id)`.
    pub fn empty(shipment_id: impl Into<String>) -> Self {
        Status {
            shipment_id: shipment_id.into(),
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
            customs_status: CustomsState::NotDeclared,
            released_at: None,
            inspected: false,
            transport_stage: TransportStage::Booked,
            advance_declared: None,
            clearance_hours: None,
            eta: None,
            last_location: None,
            dwell_since: None,
            milestones: Vec::new(),
        }
    }

    /// Delivered or cancelled: it waits nowhere any more and no alert applies.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.transport_stage,
            TransportStage::Delivered | TransportStage::Cancelled
        )
    }

    /// The latest actual movement that names a place.
    pub fn last_movement(&self) -> Option<&Milestone> {
        self.milestones
            .iter()
            .rev()
            .find(|m| m.classifier == Classifier::Act && m.location.is_some() && m.is_movement())
    }

    /// Between nodes: not finished, and its latest movement is a departure or a border crossing.
    pub fn is_moving(&self) -> bool {
        !self.is_finished() && self.last_movement().is_some_and(Milestone::is_departure)
    }

    /// The node it waits at and since when: not finished, not moving, and it has been somewhere.
    pub fn waiting(&self) -> Option<(&str, Timestamp)> {
        if self.is_finished() || self.is_moving() {
            return None;
        }
        let node = self.last_location.as_ref()?;
        Some((node.unlocode.as_str(), self.dwell_since?))
    }

    /// Hours waited at the current node by `now_millis`, to two decimals; `None` unless
    /// [`waiting`](Self::waiting).
    pub fn dwell_hours(&self, now_millis: i64) -> Option<f64> {
        let (_, since) = self.waiting()?;
        Some(hours_between(since.unix_millis(), now_millis).max(0.0))
    }

    /// Where customs acts on it: the port of entry for imports, else the origin.
    pub fn customs_node(&self) -> Option<&str> {
        if self.direction == Some(Direction::Import) {
            self.port_of_entry.as_deref()
        } else {
            self.origin.as_deref()
        }
    }
}

/// Hours from `from` to `to` (milliseconds since the epoch), rounded to two decimals.
pub fn hours_between(from_millis: i64, to_millis: i64) -> f64 {
    ((to_millis - from_millis) as f64 / HOUR_MS * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::is_movement_code;
    use crate::*;

    /// The milestone's rule agrees with the body's for every code of every kind.
    #[test]
    fn movement_by_code_is_movement_by_body() {
        let codes =
            |all: Vec<&'static str>, movement: bool| all.into_iter().map(move |c| (c, movement));
        let expected = codes(
            EquipmentEventType::ALL.iter().map(|c| c.code()).collect(),
            true,
        )
        .chain(codes(
            TransportEventType::ALL.iter().map(|c| c.code()).collect(),
            true,
        ))
        .chain(codes(
            ShipmentEventType::ALL.iter().map(|c| c.code()).collect(),
            false,
        ))
        .chain(codes(
            CustomsStatus::ALL.iter().map(|c| c.code()).collect(),
            false,
        ))
        .chain(
            AirStatus::ALL
                .iter()
                .map(|c| (c.code(), *c != AirStatus::Bkd)),
        );
        for (code, movement) in expected {
            assert_eq!(is_movement_code(code), movement, "{code}");
        }
    }
}
