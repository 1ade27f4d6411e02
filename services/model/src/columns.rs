//! The SQL tables over the published records (API.md: `shipments`, `milestones`, `alerts`):
//! column names and types, in order. The query service builds its Arrow schemas from these; the
//! status record's columns come from its field list ([`crate::status_fields`]).

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

use std::sync::LazyLock;
use ColumnType::*;

/// The columns a field of the status record is read as, by its kind: texts, codes and places
/// as text (`units` comma-separated, a place its UN/LOCODE), a conveyance as its mode and
/// reference, `milestones` as a table of its own.
macro_rules! push_columns {
    ($columns:ident, $name:ident, milestones) => {};
    ($columns:ident, $name:ident, conveyance) => {
        $columns.push(column(concat!(stringify!($name), "_mode"), Text, true));
        $columns.push(column(stringify!($name), Text, true));
    };
    ($columns:ident, $name:ident, $kind:tt) => {
        let (kind, nullable) = column_of!($kind);
        $columns.push(column(stringify!($name), kind, nullable));
    };
}

/// A one-column kind's SQL type and whether it may be null.
macro_rules! column_of {
    (text) => {
        (Text, false)
    };
    (milestone_code) => {
        (Text, false)
    };
    (texts) => {
        (Text, false)
    };
    ((state $t:ty)) => {
        (Text, false)
    };
    (opt_text) => {
        (Text, true)
    };
    ((code $t:ty)) => {
        (Text, true)
    };
    ((opt_code $t:ty)) => {
        (Text, true)
    };
    (place) => {
        (Text, true)
    };
    (time) => {
        (Time, true)
    };
    (at) => {
        (Time, false)
    };
    (flag) => {
        (Boolean, false)
    };
    (opt_flag) => {
        (Boolean, true)
    };
    (hours) => {
        (Float, true)
    };
}

macro_rules! shipment_columns {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {{
        let mut columns = Vec::new();
        $(push_columns!(columns, $name, $kind);)*
        columns.push(column("version", Unsigned, false));
        columns.push(column("updated_at", Time, true));
        columns
    }};
}

macro_rules! milestone_columns {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {{
        let mut columns = vec![column("shipment_id", Text, false)];
        $(push_columns!(columns, $name, $kind);)*
        columns
    }};
}

/// One row per shipment: the status record's fields but its milestones.
pub static SHIPMENTS: LazyLock<Vec<Column>> =
    LazyLock::new(|| crate::status_fields!(shipment_columns));

/// One row per milestone of every shipment: its shipment's id, then the milestone's fields.
pub static MILESTONES: LazyLock<Vec<Column>> =
    LazyLock::new(|| crate::milestone_fields!(milestone_columns));

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

#[cfg(test)]
mod tests {
    use super::*;

    /// API.md, the contract, names every column of the milestones table, and the shipments
    /// table holds the record's fields by their names.
    #[test]
    fn the_contract_names_the_columns() {
        let contract = include_str!("../../../docs/contracts/API.md");
        for column in MILESTONES.iter() {
            assert!(
                contract.contains(&format!("`{}`", column.name)),
                "API.md does not name the milestones column `{}`",
                column.name
            );
        }
        let names: Vec<&str> = SHIPMENTS.iter().map(|c| c.name).collect();
        for field in crate::status_fields::STATUS_FIELDS {
            assert_eq!(
                names.contains(&field.name),
                field.name != "milestones",
                "{}",
                field.name
            );
        }
    }
}
