//! The published status record of STATUS.md as plain data, and the domain predicates every
//! service reads it by — moving, waiting at a node, finished, dwell hours — each defined here once
//! so that the processor, the alerter, the API and the dashboard agree about the same shipment.

use crate::{
    AirStatus, Classifier, CustomsStatus, Direction, Location, ShipmentEventType, Timestamp,
    TransportRef, TransportStage,
};

const HOUR_MS: f64 = 3_600_000.0;

/// The Rust type of a field of [`Status`] or [`Milestone`], by its kind ([`crate::status_fields`]).
macro_rules! owned {
    (text) => { String };
    (opt_text) => { Option<String> };
    (texts) => { Vec<String> };
    ((code $t:ty)) => { Option<$t> };
    ((opt_code $t:ty)) => { Option<$t> };
    ((state $t:ty)) => { $t };
    (time) => { Option<Timestamp> };
    (at) => { Timestamp };
    (flag) => { bool };
    (opt_flag) => { Option<bool> };
    (hours) => { Option<f64> };
    (place) => { Option<Location> };
    (milestone_code) => { &'static str };
    (conveyance) => { Option<TransportRef> };
    (milestones) => { Vec<Milestone> };
}

/// A field's value in a record that knows nothing yet ([`Status::empty`]).
macro_rules! nothing {
    (text) => {
        String::new()
    };
    (texts) => {
        Vec::new()
    };
    (milestones) => {
        Vec::new()
    };
    ((state $t:ty)) => {
        <$t as crate::status_fields::FromNumber>::from_number(0)
    };
    (flag) => {
        false
    };
    ($other:tt) => {
        None
    };
}

macro_rules! declare_status {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// One shipment's full-process status: a pure function of its events (STATUS.md).
        /// `version` and `updatedAt` are not here: they belong to the emission, not to the
        /// derivation.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Status {
            $($(#[doc = $doc])* pub $name: owned!($kind),)*
        }

        impl Status {
            /// A record with nothing known but its id: what derivation starts from, and the
            /// base that tests and benchmarks fill in with `..Status::empty(id)`.
            pub fn empty(shipment_id: impl Into<String>) -> Self {
                let mut status = Status { $($name: nothing!($kind),)* };
                status.shipment_id = shipment_id.into();
                status
            }
        }
    };
}
crate::status_fields!(declare_status);

macro_rules! declare_milestone {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// One event as it counts in a status.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Milestone {
            $($(#[doc = $doc])* pub $name: owned!($kind),)*
        }
    };
}
crate::milestone_fields!(declare_milestone);

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
