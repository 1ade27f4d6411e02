//! The `shipments` and `milestones` rows of a chunk, read off the stored records' bytes
//! ([`StatusView`]): no record is built and no text copied but into the columns. The columns are
//! generated from the status record's field list, kind by kind, in the order of
//! [`kouan_model::columns`].

use super::{fitted, texts, times, MILESTONES, SHIPMENTS};
use crate::record::StatusRecord;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder, UInt64Builder,
};
use kouan_model::{MilestoneView, StatusView};
use std::fmt::Write as _;
use std::sync::Arc;

/// The builder of a field's column(s), by its kind.
macro_rules! builder {
    (text) => {
        StringBuilder
    };
    (milestone_code) => {
        StringBuilder
    };
    (opt_text) => {
        StringBuilder
    };
    (texts) => {
        StringBuilder
    };
    ((code $t:ty)) => {
        StringBuilder
    };
    ((opt_code $t:ty)) => {
        StringBuilder
    };
    ((state $t:ty)) => {
        StringBuilder
    };
    (place) => {
        StringBuilder
    };
    (time) => {
        TimestampMillisecondBuilder
    };
    (at) => {
        TimestampMillisecondBuilder
    };
    (flag) => {
        BooleanBuilder
    };
    (opt_flag) => {
        BooleanBuilder
    };
    (hours) => {
        Float64Builder
    };
    (conveyance) => {
        (StringBuilder, StringBuilder)
    };
    (milestones) => {
        ()
    };
}

/// The text bytes a field's value puts in its column(s) (0 for columns of fixed width): the
/// builders are sized exactly, since one that grows doubles its buffers and `fitted` copies
/// them once more (perf of a million-record rebuild: most of its system time).
macro_rules! text_len {
    (text, $x:expr) => {
        $x.len()
    };
    (milestone_code, $x:expr) => {
        $x.len()
    };
    (opt_text, $x:expr) => {
        $x.map_or(0, str::len)
    };
    (place, $x:expr) => {
        $x.map_or(0, str::len)
    };
    (texts, $x:expr) => {
        $x.iter().map(|text| text.len() + 1).sum::<usize>()
    };
    ((code $t:ty), $x:expr) => {
        $x.map_or(0, |v| v.code().len())
    };
    ((opt_code $t:ty), $x:expr) => {
        $x.map_or(0, |v| v.code().len())
    };
    ((state $t:ty), $x:expr) => {
        $x.code().len()
    };
    (conveyance, $x:expr) => {
        $x.map_or(0, |(_, reference): (_, &str)| reference.len() + 8)
    };
    ($fixed:tt, $x:expr) => {
        0
    };
}

/// A builder for `$rows` values holding `$bytes` of text.
macro_rules! make {
    (time, $rows:expr, $bytes:expr) => {
        times($rows)
    };
    (at, $rows:expr, $bytes:expr) => {
        times($rows)
    };
    (flag, $rows:expr, $bytes:expr) => {
        BooleanBuilder::with_capacity($rows)
    };
    (opt_flag, $rows:expr, $bytes:expr) => {
        BooleanBuilder::with_capacity($rows)
    };
    (hours, $rows:expr, $bytes:expr) => {
        Float64Builder::with_capacity($rows)
    };
    (conveyance, $rows:expr, $bytes:expr) => {
        (texts($rows, 4 * $rows), texts($rows, $bytes))
    };
    (milestones, $rows:expr, $bytes:expr) => {
        ()
    };
    ($text:tt, $rows:expr, $bytes:expr) => {
        texts($rows, $bytes)
    };
}

/// Appends a field's value.
macro_rules! append {
    (text, $b:expr, $x:expr) => {
        $b.append_value($x)
    };
    (milestone_code, $b:expr, $x:expr) => {
        $b.append_value($x)
    };
    (opt_text, $b:expr, $x:expr) => {
        $b.append_option($x)
    };
    (place, $b:expr, $x:expr) => {
        $b.append_option($x)
    };
    (texts, $b:expr, $x:expr) => {{
        for (i, text) in $x.iter().enumerate() {
            if i > 0 {
                $b.write_str(",").expect("a string builder takes text");
            }
            $b.write_str(text).expect("a string builder takes text");
        }
        $b.append_value("");
    }};
    ((code $t:ty), $b:expr, $x:expr) => {
        $b.append_option($x.map(|v| v.code()))
    };
    ((opt_code $t:ty), $b:expr, $x:expr) => {
        $b.append_option($x.map(|v| v.code()))
    };
    ((state $t:ty), $b:expr, $x:expr) => {
        $b.append_value($x.code())
    };
    (time, $b:expr, $x:expr) => {
        $b.append_option($x)
    };
    (at, $b:expr, $x:expr) => {
        $b.append_value($x)
    };
    (flag, $b:expr, $x:expr) => {
        $b.append_value($x)
    };
    (opt_flag, $b:expr, $x:expr) => {
        $b.append_option($x)
    };
    (hours, $b:expr, $x:expr) => {
        $b.append_option($x)
    };
    (conveyance, $b:expr, $x:expr) => {{
        let (modes, references) = &mut $b;
        modes.append_option($x.and_then(|(mode, _)| mode).map(|mode| mode.code()));
        references.append_option($x.map(|(_, reference)| reference));
    }};
    (milestones, $b:expr, $x:expr) => {};
}

/// Finishes a field's column(s) onto `$columns`.
macro_rules! finish {
    (conveyance, $b:expr, $columns:ident) => {{
        let (mut modes, mut references) = $b;
        $columns.push(fitted(modes.finish()));
        $columns.push(fitted(references.finish()));
    }};
    (milestones, $b:expr, $columns:ident) => {};
    ($kind:tt, $b:expr, $columns:ident) => {{
        let mut builder = $b;
        $columns.push(fitted(builder.finish()));
    }};
}

macro_rules! shipment_rows {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// The `shipments` table's builders, a field's in its name.
        /// (`milestones`' builder is `()`: its rows are the other table's.)
        #[allow(dead_code)]
        struct ShipmentRows {
            $($name: builder!($kind),)*
            version: UInt64Builder,
            updated_at: TimestampMillisecondBuilder,
        }

        impl ShipmentRows {
            #[allow(clippy::unused_unit)]
            fn for_views(views: &[StatusView<'_>]) -> Self {
                let rows = views.len();
                ShipmentRows {
                    $($name: make!(
                        $kind,
                        rows,
                        views.iter().map(|st| text_len!($kind, st.$name)).sum::<usize>()
                    ),)*
                    version: UInt64Builder::with_capacity(rows),
                    updated_at: times(rows),
                }
            }

            #[allow(unused_variables, clippy::unit_arg)]
            fn append(&mut self, st: &StatusView<'_>) {
                $(append!($kind, self.$name, st.$name);)*
                self.version.append_value(st.version);
                self.updated_at.append_option(st.updated_at);
            }

            fn finish(self) -> RecordBatch {
                let mut columns: Vec<ArrayRef> = Vec::with_capacity(SHIPMENTS.fields().len());
                $(finish!($kind, self.$name, columns);)*
                let ShipmentRows { mut version, mut updated_at, .. } = self;
                columns.push(fitted(version.finish()));
                columns.push(fitted(updated_at.finish()));
                RecordBatch::try_new(SHIPMENTS.clone(), columns).expect("columns match the schema")
            }
        }
    };
}
kouan_model::status_fields!(shipment_rows);

macro_rules! milestone_rows {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        /// The `milestones` table's builders: the shipment's id, then a field's in its name.
        struct MilestoneRows {
            shipment_id: StringBuilder,
            $($name: builder!($kind),)*
        }

        impl MilestoneRows {
            fn for_views(views: &[StatusView<'_>]) -> Self {
                let all = || views.iter().flat_map(|st| st.milestones.iter().map(move |m| (st, m)));
                let rows = all().count();
                MilestoneRows {
                    shipment_id: texts(rows, all().map(|(st, _)| st.shipment_id.len()).sum()),
                    $($name: make!(
                        $kind,
                        rows,
                        all().map(|(_, m)| text_len!($kind, m.$name)).sum::<usize>()
                    ),)*
                }
            }

            fn append(&mut self, shipment_id: &str, milestone: &MilestoneView<'_>) {
                self.shipment_id.append_value(shipment_id);
                $(append!($kind, self.$name, milestone.$name);)*
            }

            fn finish(self) -> RecordBatch {
                let mut columns: Vec<ArrayRef> = Vec::with_capacity(MILESTONES.fields().len());
                let mut shipment_id = self.shipment_id;
                columns.push(fitted(shipment_id.finish()));
                $(finish!($kind, self.$name, columns);)*
                RecordBatch::try_new(MILESTONES.clone(), columns)
                    .expect("columns match the schema")
            }
        }
    };
}
kouan_model::milestone_fields!(milestone_rows);

/// The `shipments` and `milestones` rows of one chunk.
pub fn chunk_batches(records: &[Arc<StatusRecord>]) -> (RecordBatch, RecordBatch) {
    let views: Vec<StatusView<'_>> = records.iter().map(|record| record.view()).collect();
    let mut shipments = ShipmentRows::for_views(&views);
    let mut milestones = MilestoneRows::for_views(&views);
    for st in &views {
        shipments.append(st);
        for milestone in &st.milestones {
            milestones.append(st.shipment_id, milestone);
        }
    }
    (shipments.finish(), milestones.finish())
}
