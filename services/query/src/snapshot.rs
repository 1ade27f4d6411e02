//! The Arrow snapshot DataFusion queries: the tables `shipments`, `milestones` and `alerts`
//! built from the store's records in chunks of [`CHUNK`](crate::store::CHUNK) shipments. A
//! refresh rebuilds only the chunks whose records changed and swaps the whole snapshot
//! atomically, so a query always sees one consistent version of every table.

use crate::record::{AlertRecord, StatusRecord};
use crate::store::{DirtyRows, Store};
use arc_swap::ArcSwap;
use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, Float64Builder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::TableType;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use kouan_model::columns::{self, Column, ColumnType};
use rayon::prelude::*;
use std::sync::{Arc, LazyLock};

/// Which table a provider serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Shipments,
    Milestones,
    Alerts,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Shipments, Table::Milestones, Table::Alerts];

    pub fn name(self) -> &'static str {
        match self {
            Table::Shipments => "shipments",
            Table::Milestones => "milestones",
            Table::Alerts => "alerts",
        }
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Shipments => SHIPMENTS.clone(),
            Table::Milestones => MILESTONES.clone(),
            Table::Alerts => ALERTS.clone(),
        }
    }
}

fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The Arrow schema of one of the model's tables.
fn schema_of(columns: &[Column]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|column| {
            let kind = match column.kind {
                ColumnType::Text => DataType::Utf8,
                ColumnType::Time => time_type(),
                ColumnType::Boolean => DataType::Boolean,
                ColumnType::Float => DataType::Float64,
                ColumnType::Unsigned => DataType::UInt64,
            };
            Field::new(column.name, kind, column.nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

static SHIPMENTS: LazyLock<SchemaRef> = LazyLock::new(|| schema_of(&columns::SHIPMENTS));
static MILESTONES: LazyLock<SchemaRef> = LazyLock::new(|| schema_of(&columns::MILESTONES));
static ALERTS: LazyLock<SchemaRef> = LazyLock::new(|| schema_of(columns::ALERTS));

/// A finished column without the spare capacity its builder grew (up to half of it): snapshots
/// live as long as their table does not change (the alerts table, whose builders grow).
fn fitted(mut array: impl Array + 'static) -> ArrayRef {
    array.shrink_to_fit();
    Arc::new(array)
}

/// Builders sized exactly for what a chunk holds: a builder that grows doubles its buffers and
/// `shrink_to_fit` copies them once more, every copy into memory the kernel must first zero
/// (perf of a million-record rebuild: most of its system time).
fn texts(items: usize, bytes: usize) -> StringBuilder {
    StringBuilder::with_capacity(items, bytes)
}

fn times(items: usize) -> TimestampMillisecondBuilder {
    TimestampMillisecondBuilder::with_capacity(items).with_timezone("UTC")
}

/// The `alerts` table.
pub fn alert_batch(alerts: &[Arc<AlertRecord>]) -> RecordBatch {
    let mut s: Vec<StringBuilder> = (0..7).map(|_| StringBuilder::new()).collect();
    let mut observed = Float64Builder::new();
    let mut threshold = Float64Builder::new();
    let mut baseline = StringBuilder::new();
    let mut t: Vec<TimestampMillisecondBuilder> = (0..3).map(|_| times(alerts.len())).collect();
    let mut message = StringBuilder::new();
    for alert in alerts {
        let (key, alert) = (alert, &alert.alert);
        s[0].append_value(&key.alert_id);
        s[1].append_value(&key.shipment_id);
        s[2].append_option(key.shipper.as_deref());
        s[3].append_value(alert.kind.code());
        s[4].append_value(alert.state.code());
        s[5].append_value(&alert.node);
        s[6].append_value(&alert.stage);
        observed.append_value(alert.observed_hours);
        threshold.append_value(alert.threshold_hours);
        baseline.append_value(&alert.baseline);
        t[0].append_value(alert.started_at_millis);
        t[1].append_value(alert.updated_at_millis);
        t[2].append_option(alert.resolved_at_millis);
        message.append_value(&alert.message);
    }
    let mut columns: Vec<ArrayRef> = s.into_iter().map(|mut b| fitted(b.finish())).collect();
    columns.push(fitted(observed.finish()));
    columns.push(fitted(threshold.finish()));
    columns.push(fitted(baseline.finish()));
    columns.extend(t.into_iter().map(|mut b| fitted(b.finish())));
    columns.push(fitted(message.finish()));
    RecordBatch::try_new(ALERTS.clone(), columns).expect("columns match the schema")
}

/// One consistent version of every table.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Per chunk: its `shipments` and `milestones` rows.
    chunks: Vec<Option<(RecordBatch, RecordBatch)>>,
    alerts: Option<RecordBatch>,
}

impl Snapshot {
    pub fn batches(&self, table: Table) -> Vec<RecordBatch> {
        match table {
            Table::Shipments => self.chunks.iter().flatten().map(|c| c.0.clone()).collect(),
            Table::Milestones => self.chunks.iter().flatten().map(|c| c.1.clone()).collect(),
            Table::Alerts => self.alerts.iter().cloned().collect(),
        }
    }
}

/// The current snapshot, shared by the refresher and every query.
#[derive(Default)]
pub struct Snapshots {
    current: ArcSwap<Snapshot>,
}

impl Snapshots {
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Rebuilds what changed in `store` since the last refresh and swaps the result in.
    /// Returns whether anything changed.
    pub fn refresh(&self, store: &Store) -> bool {
        let DirtyRows { chunks, alerts } = store.take_dirty();
        if chunks.is_empty() && alerts.is_none() {
            return false;
        }
        let mut next = (*self.current.load_full()).clone();
        for (chunk, batches) in build_chunks(chunks) {
            if next.chunks.len() <= chunk {
                next.chunks.resize(chunk + 1, None);
            }
            next.chunks[chunk] = batches;
        }
        if let Some(alerts) = alerts {
            next.alerts = Some(alert_batch(&alerts));
        }
        self.current.store(Arc::new(next));
        true
    }
}

type BuiltChunk = (usize, Option<(RecordBatch, RecordBatch)>);

/// Builds the changed chunks, on every core when there are several (a replay or a restart
/// dirties them all at once; a live refresh usually one or two).
fn build_chunks(chunks: Vec<(usize, Vec<Arc<StatusRecord>>)>) -> Vec<BuiltChunk> {
    let build = |(chunk, records): (usize, Vec<Arc<StatusRecord>>)| {
        (
            chunk,
            (!records.is_empty()).then(|| chunk_batches(&records)),
        )
    };
    if chunks.len() <= 1 {
        return chunks.into_iter().map(build).collect();
    }
    chunks.into_par_iter().map(build).collect()
}

/// A DataFusion table reading the current snapshot at planning time.
pub struct SnapshotTable {
    table: Table,
    snapshots: Arc<Snapshots>,
}

impl SnapshotTable {
    pub fn new(table: Table, snapshots: Arc<Snapshots>) -> Self {
        Self { table, snapshots }
    }
}

impl std::fmt::Debug for SnapshotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SnapshotTable({})", self.table.name())
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batches = self.snapshots.load().batches(self.table);
        // spread the chunks over the session's partitions so that scans use every core
        let partitions = state.config().target_partitions().max(1);
        let mut split: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
        for (index, batch) in batches.into_iter().enumerate() {
            split[index % partitions].push(batch);
        }
        let source = MemorySourceConfig::try_new(&split, self.schema(), projection.cloned())?
            .with_limit(limit);
        Ok(DataSourceExec::from_data_source(source))
    }
}

mod rows;
pub use rows::chunk_batches;

#[cfg(test)]
mod tests;
