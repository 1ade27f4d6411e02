//! The status record's fields, declared once. Every Rust form of the record — [`Status`] and
//! [`Milestone`], their borrowed [`StatusRef`], the wire reading [`StatusView`], the JSON form
//! [`StatusJson`], the conversions to and from the generated `pb` types, the hand-written
//! encoder and the SQL tables' columns — is generated from [`status_fields!`] and
//! [`milestone_fields!`] by a macro of its own file, each field by its *kind*. The protobuf schema
//! (`proto/kouan/v1/status.proto`) is the other declaration, of the wire; a test below holds the
//! two lists to each other, name by name and number by number.
//!
//! Adding a field is a line in `status.proto`, a line here (its kind names how every form treats
//! it), and the derivation rule that fills it.
//!
//! Kinds:
//!
//! | kind | `Status` | proto | SQL |
//! |---|---|---|---|
//! | `text` | `String` | `string` (empty not written) | text |
//! | `opt_text` | `Option<String>` | `optional string` | text, null |
//! | `texts` | `Vec<String>` | `repeated string` | text, comma-separated |
//! | `(code T)` | `Option<T>` | enum `T`, 0 for none | its code, null |
//! | `(opt_code T)` | `Option<T>` | `optional` enum `T` | its code, null |
//! | `(state T)` | `T` | enum `T`, unknown numbers read as [`FromNumber`] says | its code |
//! | `time` | `Option<Timestamp>` | `optional Time` | time, null |
//! | `at` | `Timestamp` | `Time`, required | time |
//! | `flag` | `bool` | `bool` | boolean |
//! | `opt_flag` | `Option<bool>` | `optional bool` | boolean, null |
//! | `hours` | `Option<f64>` | `optional double` | float, null |
//! | `place` | `Option<Location>` | `optional Location` | its UN/LOCODE, null |
//! | `milestone_code` | `&'static str` | `string`, a code of the contract | text |
//! | `conveyance` | `Option<TransportRef>` | `optional TransportRef` | `conveyance_mode` and `conveyance` |
//! | `milestones` | `Vec<Milestone>` | `repeated Milestone` | the `milestones` table |
//!
//! Each entry is `name = number, "jsonName", kind #[attribute of the JSON form]*;`.
//!
//! [`Status`]: crate::Status
//! [`Milestone`]: crate::Milestone
//! [`StatusRef`]: crate::StatusRef
//! [`StatusView`]: crate::StatusView
//! [`StatusJson`]: crate::StatusJson

use crate::{Classifier, CustomsState, TransportStage};

/// Calls `$form!` with the fields of `ShipmentStatus` but `version` and `updatedAt` (they belong
/// to the emission, not to the derivation), in field order.
#[macro_export]
macro_rules! status_fields {
    ($form:ident) => {
        $form! {
            shipment_id = 1, "shipmentId", text;
            document_type = 2, "documentType", (code $crate::DocumentType)
                #[schema(required = true)];
            shipper = 3, "shipper", opt_text #[schema(required = true)];
            mode = 4, "mode", (code $crate::ShipmentMode) #[schema(required = true)];
            direction = 5, "direction", (code $crate::Direction) #[schema(required = true)];
            origin = 6, "origin", opt_text #[schema(required = true)];
            destination = 7, "destination", opt_text #[schema(required = true)];
            /// The booking's port of entry, defaulting to its destination.
            port_of_entry = 8, "portOfEntry", opt_text #[schema(required = true)];
            units = 9, "units", texts;
            booked_at = 10, "bookedAt", time #[schema(required = true)];
            received_at = 11, "receivedAt", time #[schema(required = true)];
            departed_at = 12, "departedAt", time #[schema(required = true)];
            arrived_at = 13, "arrivedAt", time #[schema(required = true)];
            delivered_at = 14, "deliveredAt", time #[schema(required = true)];
            declared_at = 15, "declaredAt", time #[schema(required = true)];
            customs_status = 16, "customsStatus", (state $crate::CustomsState);
            released_at = 17, "releasedAt", time #[schema(required = true)];
            inspected = 18, "inspected", flag;
            transport_stage = 19, "transportStage", (state $crate::TransportStage);
            advance_declared = 20, "advanceDeclared", opt_flag #[schema(required = true)];
            clearance_hours = 21, "clearanceHours", hours #[schema(required = true)];
            eta = 22, "eta", time #[schema(required = true)];
            last_location = 23, "lastLocation", place #[schema(required = true)];
            dwell_since = 24, "dwellSince", time #[schema(required = true)];
            milestones = 25, "milestones", milestones;
        }
    };
}

/// Calls `$form!` with the fields of `Milestone`, in field order.
#[macro_export]
macro_rules! milestone_fields {
    ($form:ident) => {
        $form! {
            /// The event body's type or status code, e.g. `LOAD`, `DEP`, `RELEASED`.
            code = 1, "code", milestone_code;
            event_time = 2, "eventTime", at;
            classifier = 3, "classifier", (state $crate::Classifier);
            location = 4, "location", place #[schema(required = true)];
            source = 5, "source", text;
            event_id = 6, "eventId", text;
            /// When the source recorded the version counted; absent when it gave no time.
            recorded_time = 7, "recordedTime", time
                #[serde(skip_serializing_if = "Option::is_none")];
            /// Equipment events: the container or wagon.
            unit = 8, "unit", opt_text #[serde(skip_serializing_if = "Option::is_none")];
            /// Equipment events: whether the unit was empty.
            empty_indicator = 9, "emptyIndicator", (opt_code $crate::EmptyIndicator)
                #[serde(skip_serializing_if = "Option::is_none")];
            /// An equipment event's transport, a transport event's own, an air event's flight.
            conveyance = 10, "conveyance", conveyance
                #[serde(skip_serializing_if = "Option::is_none")];
            /// Customs events: the declaration number.
            declaration = 11, "declaration", opt_text
                #[serde(skip_serializing_if = "Option::is_none")];
        }
    };
}

/// A field of the record: its Rust name, protobuf number and JSON name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub number: u32,
    pub json: &'static str,
}

macro_rules! field_table {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        &[$(Field { name: stringify!($name), number: $tag, json: $json }),*]
    };
}

/// The status record's fields as [`status_fields!`] declares them.
pub const STATUS_FIELDS: &[Field] = status_fields!(field_table);

/// A milestone's fields as [`milestone_fields!`] declares them.
pub const MILESTONE_FIELDS: &[Field] = milestone_fields!(field_table);

/// An enum of a `(state T)` field from its protobuf number, unknown numbers included.
pub trait FromNumber {
    fn from_number(number: i32) -> Self;
}

/// Unspecified or unknown: not declared.
impl FromNumber for CustomsState {
    fn from_number(number: i32) -> Self {
        CustomsState::from_proto(number).unwrap_or(CustomsState::NotDeclared)
    }
}

/// Unspecified or unknown: booked.
impl FromNumber for TransportStage {
    fn from_number(number: i32) -> Self {
        TransportStage::from_proto(number).unwrap_or(TransportStage::Booked)
    }
}

/// Unspecified or unknown: actual.
impl FromNumber for Classifier {
    fn from_number(number: i32) -> Self {
        Classifier::from_proto(number).unwrap_or(Classifier::Act)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, number)` of each field of `message` in a `.proto` file.
    fn proto_fields(proto: &str, message: &str) -> Vec<(String, u32)> {
        let start = proto
            .find(&format!("message {message} {{"))
            .unwrap_or_else(|| panic!("message {message} in status.proto"));
        let body = &proto[start..];
        let body = &body[..body.find("\n}").expect("the message ends")];
        body.lines()
            .map(|line| line.split("//").next().unwrap_or("").trim())
            .filter_map(|line| {
                let (left, number) = line.strip_suffix(';')?.split_once('=')?;
                let name = left.split_whitespace().last()?;
                Some((name.to_string(), number.trim().parse().ok()?))
            })
            .collect()
    }

    fn listed(fields: &[Field]) -> Vec<(String, u32)> {
        fields
            .iter()
            .map(|f| (f.name.to_string(), f.number))
            .collect()
    }

    const PROTO: &str = include_str!("../../../proto/kouan/v1/status.proto");

    #[test]
    fn the_status_fields_are_the_protos() {
        let mut expected = listed(STATUS_FIELDS);
        expected.push(("version".into(), 26));
        expected.push(("updated_at".into(), 27));
        assert_eq!(proto_fields(PROTO, "ShipmentStatus"), expected);
    }

    #[test]
    fn the_milestone_fields_are_the_protos() {
        assert_eq!(proto_fields(PROTO, "Milestone"), listed(MILESTONE_FIELDS));
    }

    /// STATUS.md, the contract, names every field by its JSON name.
    #[test]
    fn the_contract_names_every_field() {
        let contract = include_str!("../../../docs/contracts/STATUS.md");
        let words: std::collections::HashSet<&str> = contract
            .split(|c: char| !c.is_ascii_alphanumeric())
            .collect();
        for field in STATUS_FIELDS.iter().chain(MILESTONE_FIELDS) {
            assert!(
                words.contains(field.json),
                "STATUS.md does not name `{}`",
                field.json
            );
        }
    }
}
