//! kouan's model: what travels through the pipeline, and what counts as valid. No I/O.
//!
//! - [`pb`]: the protobuf types generated from `proto/kouan/v1` (the Kafka wire format).
//! - [`ids`]: domain identifiers — ISO 6346 container numbers, ULD ids, AWBs, UN/LOCODEs,
//!   customs declaration numbers — with their check digits.
//! - [`time`]: RFC 3339 instants that keep the offset they were reported in.
//! - [`codes`]: the short-code enums of the event contract (`LOAD`, `DEP`, `RELEASED`, …).
//! - [`event`]: the validated event ([`Event`]) and its bodies.
//! - [`event_view`]: a record of `kouan.v1.Event` read in place, its strings borrowed.
//! - [`event_wire`]: an event's protobuf form written straight from it.
//! - [`shared`]: one copy of each place and source, for those holding many events.
//! - [`reject`]: why an input was rejected, naming the field and the reason.
//! - [`validate`]: the semantic rules of EVENTS.md shared by both input forms.
//! - [`ndjson`]: the external JSON form, one event per line, both ways.
//! - [`protobuf`]: the wire form, both ways.
//!
//! What the pipeline publishes, read by every service after the processor:
//! - [`status_fields`]: the status record's fields declared once, from which every form below
//!   and the SQL columns are generated.
//! - [`status`]: the shipment status record of STATUS.md and the predicates read off it (moving,
//!   waiting at a node, finished, dwell hours).
//! - [`status_wire`]: its protobuf form on `kouan.status`, both ways, and its content digest.
//! - [`status_ref`]: the record borrowed from what it was derived from, encoded without copies.
//! - [`status_view`]: a borrowed, allocation-free reading of that protobuf form, for records
//!   already validated once.
//! - [`status_json`]: its JSON form (API.md answers, feeds, webhooks).
//! - [`alert`]: the alert record of `kouan.alerts`, its protobuf and JSON forms.
//! - [`columns`]: the SQL tables' column names and types over those records.

pub mod alert;
pub mod codes;
pub mod columns;
pub mod event;
pub mod event_view;
pub mod event_wire;
pub mod ids;
pub mod ndjson;
pub mod protobuf;
pub mod reject;
pub mod shared;
pub mod status;
pub mod status_fields;
pub mod status_json;
pub mod status_ref;
pub mod status_view;
pub mod status_wire;
pub mod time;
pub mod validate;

/// Generated protobuf types of `kouan.v1`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/kouan.v1.rs"));
}

pub use alert::{Alert, AlertJson};
pub use codes::*;
pub use event::{
    AirBody, Body, BodyKind, CustomsBody, EquipmentBody, Event, Id, Location, ShipmentBody,
    TransportBody, TransportRef,
};
pub use reject::Reject;
pub use shared::Shared;
pub use status::{Milestone, Status};
pub use status_json::{MilestoneJson, StatusJson};
pub use status_ref::{MilestoneRef, StatusRef};
pub use status_view::{MilestoneView, StatusView};
pub use status_wire::{fnv1a, fnv1a_extend, EncodedStatus, PublishedStatus, FNV1A_START};
pub use time::{wall_millis, Timestamp};
