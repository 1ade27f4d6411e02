//! The SQL tables over the published records (API.md: `shipments`, `milestones`, `alerts`):
//! column names and types, in order. The query service builds its Arrow schemas from these, so a
//! field of the records and its column are named in one place.

/// A column's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    /// Milliseconds, UTC.
    Time,
    Boolean,
    Float,
    Unsigned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnType,
    pub nullable: bool,
}

const fn column(name: &'static str, kind: ColumnType, nullable: bool) -> Column {
    Column {
        name,
        kind,
        nullable,
    }
}

use ColumnType::*;

/// One row per shipment: the status record's scalar fields (`units` comma-separated,
/// `last_location` its UN/LOCODE).
pub const SHIPMENTS: &[Column] = &[
    column("shipment_id", Text, false),
    column("document_type", Text, true),
    column("shipper", Text, true),
    column("mode", Text, true),
    column("direction", Text, true),
    column("origin", Text, true),
    column("destination", Text, true),
    column("port_of_entry", Text, true),
    column("units", Text, false),
    column("booked_at", Time, true),
    column("received_at", Time, true),
    column("departed_at", Time, true),
    column("arrived_at", Time, true),
    column("delivered_at", Time, true),
    column("declared_at", Time, true),
    column("customs_status", Text, false),
    column("released_at", Time, true),
    column("inspected", Boolean, false),
    column("transport_stage", Text, false),
    column("advance_declared", Boolean, true),
    column("clearance_hours", Float, true),
    column("eta", Time, true),
    column("last_location", Text, true),
    column("dwell_since", Time, true),
    column("version", Unsigned, false),
    column("updated_at", Time, true),
];

/// One row per milestone of every shipment.
pub const MILESTONES: &[Column] = &[
    column("shipment_id", Text, false),
    column("code", Text, false),
    column("event_time", Time, false),
    column("classifier", Text, false),
    column("location", Text, true),
    column("source", Text, false),
    column("event_id", Text, false),
];

/// One row per alert, its latest state.
pub const ALERTS: &[Column] = &[
    column("alert_id", Text, false),
    column("shipment_id", Text, false),
    column("shipper", Text, true),
    column("kind", Text, false),
    column("state", Text, false),
    column("node", Text, false),
    column("stage", Text, false),
    column("observed_hours", Float, false),
    column("threshold_hours", Float, false),
    column("baseline", Text, false),
    column("started_at", Time, true),
    column("updated_at", Time, true),
    column("resolved_at", Time, true),
    column("message", Text, false),
];
