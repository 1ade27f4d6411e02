//! kouan's model: what travels through the pipeline, and what counts as valid. No I/O.
//!
//! - [`pb`]: the protobuf types generated from `proto/kouan/v1` (the Kafka wire format).
//! - [`ids`]: domain identifiers — ISO 6346 container numbers, ULD ids, AWBs, UN/LOCODEs,
//!   customs declaration numbers — with their check digits.
//! - [`time`]: RFC 3339 instants that keep the offset they were reported in.
//! - [`codes`]: the short-code enums of the event contract (`LOAD`, `DEP`, `RELEASED`, …).
//! - [`event`]: the validated event ([`Event`]) and its bodies.
//! - [`reject`]: why an input was rejected, naming the field and the reason.
//! - [`validate`]: the semantic rules of EVENTS.md shared by both input forms.
//! - [`ndjson`]: the external JSON form, one event per line, both ways.
//! - [`protobuf`]: the wire form, both ways.

pub mod codes;
pub mod event;
pub mod ids;
pub mod ndjson;
pub mod protobuf;
pub mod reject;
pub mod time;
pub mod validate;

/// Generated protobuf types of `kouan.v1`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/kouan.v1.rs"));
}

pub use codes::*;
pub use event::{
    AirBody, Body, BodyKind, CustomsBody, EquipmentBody, Event, Location, ShipmentBody,
    TransportBody, TransportRef,
};
pub use reject::Reject;
pub use time::Timestamp;
