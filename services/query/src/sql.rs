//! Read-only SQL over the snapshot: one query statement per request, bounded in rows, time and
//! memory; answers as JSON rows or Arrow IPC.

use crate::api::answers::SqlAnswer;
use crate::error::QueryError;
use crate::snapshot::{SnapshotTable, Snapshots, Table};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqlLimits {
    /// Rows returned at most; a longer result is cut and marked truncated.
    pub max_rows: usize,
    pub timeout: Duration,
    /// Memory for the operators (sorts, joins, aggregates) of the queries running at once,
    /// bytes: one pool, so concurrent queries share it rather than multiply it.
    pub memory: usize,
    /// Queries running at once; one more is refused (429) rather than queued, so a burst cannot
    /// pile up work the timeout would only cut later.
    pub max_concurrent: usize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        Self {
            max_rows: 10_000,
            timeout: Duration::from_secs(10),
            memory: 512 << 20,
            max_concurrent: 4,
        }
    }
}

/// A query's answer.
pub struct Answer {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub truncated: bool,
}

impl Answer {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// `{"columns": [...], "rows": [[...]], "truncated": bool}`.
    pub fn to_json(&self) -> SqlAnswer<'_> {
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let mut rows = Vec::with_capacity(self.rows());
        let options = FormatOptions::default().with_null("null");
        for batch in &self.batches {
            let cells: Vec<Vec<serde_json::Value>> = batch
                .columns()
                .iter()
                .map(|column| json_cells(column.as_ref(), &options))
                .collect();
            for row in 0..batch.num_rows() {
                rows.push(cells.iter().map(|column| column[row].clone()).collect());
            }
        }
        SqlAnswer {
            columns,
            rows,
            truncated: self.truncated,
        }
    }

    /// The Arrow IPC stream form.
    pub fn to_ipc(&self) -> Result<Vec<u8>, QueryError> {
        let mut out = Vec::new();
        let mut writer =
            datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut out, &self.schema)
                .map_err(|e| QueryError::Sql(e.to_string()))?;
        for batch in &self.batches {
            writer
                .write(batch)
                .map_err(|e| QueryError::Sql(e.to_string()))?;
        }
        writer
            .finish()
            .map_err(|e| QueryError::Sql(e.to_string()))?;
        drop(writer);
        Ok(out)
    }
}

/// JSON values of one column: numbers and booleans as such (non-finite floats as null), the
/// rest (text, times as RFC 3339, …) as Arrow displays it.
fn json_cells(column: &dyn Array, options: &FormatOptions) -> Vec<serde_json::Value> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::*;
    use serde_json::Value;
    let len = column.len();
    macro_rules! numbers {
        ($t:ty) => {{
            let values = column.as_primitive::<$t>();
            (0..len)
                .map(|i| {
                    if values.is_null(i) {
                        Value::Null
                    } else {
                        serde_json::json!(values.value(i))
                    }
                })
                .collect()
        }};
    }
    match column.data_type() {
        DataType::Boolean => {
            let values = column.as_boolean();
            (0..len)
                .map(|i| {
                    if values.is_null(i) {
                        Value::Null
                    } else {
                        Value::Bool(values.value(i))
                    }
                })
                .collect()
        }
        DataType::Int8 => numbers!(Int8Type),
        DataType::Int16 => numbers!(Int16Type),
        DataType::Int32 => numbers!(Int32Type),
        DataType::Int64 => numbers!(Int64Type),
        DataType::UInt8 => numbers!(UInt8Type),
        DataType::UInt16 => numbers!(UInt16Type),
        DataType::UInt32 => numbers!(UInt32Type),
        DataType::UInt64 => numbers!(UInt64Type),
        DataType::Float32 => numbers!(Float32Type),
        // serde_json turns NaN and infinities into null
        DataType::Float64 => numbers!(Float64Type),
        _ => match ArrayFormatter::try_new(column, options) {
            Ok(formatter) => (0..len)
                .map(|i| {
                    if column.is_null(i) {
                        Value::Null
                    } else {
                        Value::String(formatter.value(i).to_string())
                    }
                })
                .collect(),
            Err(_) => vec![Value::Null; len],
        },
    }
}

/// The SQL engine: a DataFusion session whose tables read the current snapshot.
pub struct SqlEngine {
    context: SessionContext,
    limits: SqlLimits,
    running: tokio::sync::Semaphore,
}

impl SqlEngine {
    pub fn new(snapshots: Arc<Snapshots>, limits: SqlLimits) -> Result<Self, QueryError> {
        // no spilling: a query over its memory fails instead of filling the disk
        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .with_memory_limit(limits.memory, 1.0)
            .build_arc()
            .map_err(|e| QueryError::Sql(e.to_string()))?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(
                std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
            );
        let context = SessionContext::new_with_config_rt(config, runtime);
        for table in Table::ALL {
            context
                .register_table(
                    table.name(),
                    Arc::new(SnapshotTable::new(table, snapshots.clone())),
                )
                .map_err(|e| QueryError::Sql(e.to_string()))?;
        }
        let running = tokio::sync::Semaphore::new(limits.max_concurrent.max(1));
        Ok(Self {
            context,
            limits,
            running,
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.context
    }

    pub fn limits(&self) -> &SqlLimits {
        &self.limits
    }

    /// A slot among the queries allowed to run at once, held while the query runs.
    pub fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, QueryError> {
        self.running.try_acquire().map_err(|_| {
            QueryError::Quota(format!(
                "sql: {} queries are running, the most allowed at once; try again shortly",
                self.limits.max_concurrent
            ))
        })
    }

    /// Runs one read-only query under the limits. Anything but a single query statement is
    /// `QueryError::NotAQuery`.
    pub async fn query(&self, sql: &str) -> Result<Answer, QueryError> {
        check_read_only(sql)?;
        let _slot = self.slot()?;
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let run = async {
            let frame = self
                .context
                .sql_with_options(sql, options)
                .await
                .map_err(sql_error)?;
            // one row beyond the limit tells whether the answer was cut
            let frame = frame
                .limit(0, Some(self.limits.max_rows + 1))
                .map_err(sql_error)?;
            let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
            let batches = frame.collect().await.map_err(sql_error)?;
            Ok::<_, QueryError>((schema, batches))
        };
        let (schema, batches) = tokio::time::timeout(self.limits.timeout, run)
            .await
            .map_err(|_| QueryError::SqlTimeout(self.limits.timeout))??;
        let mut kept = Vec::new();
        let mut rows = 0;
        let mut truncated = false;
        for batch in batches {
            let room = self.limits.max_rows - rows;
            if batch.num_rows() > room {
                truncated = true;
                if room > 0 {
                    kept.push(batch.slice(0, room));
                }
                break;
            }
            rows += batch.num_rows();
            kept.push(batch);
        }
        Ok(Answer {
            schema,
            batches: kept,
            truncated,
        })
    }
}

fn sql_error(error: datafusion::error::DataFusionError) -> QueryError {
    use datafusion::error::DataFusionError;
    match error.find_root() {
        DataFusionError::ResourcesExhausted(reason) => QueryError::SqlResources(reason.to_string()),
        root => QueryError::Sql(root.to_string()),
    }
}

/// Exactly one statement, and it is a query (`SELECT`, `WITH … SELECT`, `VALUES`, set
/// operations). Stacked statements, DDL, DML, `COPY`, `SET`, `EXPLAIN` … are refused.
pub fn check_read_only(sql: &str) -> Result<(), QueryError> {
    let statements = DFParser::parse_sql(sql).map_err(|e| QueryError::Sql(e.to_string()))?;
    if statements.len() != 1 {
        return Err(QueryError::NotAQuery(format!(
            "exactly one statement is allowed, got {}",
            statements.len()
        )));
    }
    match &statements[0] {
        Statement::Statement(statement)
            if matches!(
                **statement,
                datafusion::sql::sqlparser::ast::Statement::Query(_)
            ) =>
        {
            Ok(())
        }
        other => Err(QueryError::NotAQuery(format!(
            "only queries are allowed, not `{}`",
            first_words(&other.to_string())
        ))),
    }
}

fn first_words(text: &str) -> String {
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_queries_pass() {
        for ok in [
            "SELECT 1",
            "select * from shipments where mode = 'AIR'",
            "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
            "SELECT 1 UNION ALL SELECT 2",
            "VALUES (1), (2)",
        ] {
            assert!(check_read_only(ok).is_ok(), "{ok}");
        }
        for refused in [
            "DROP TABLE shipments",
            "CREATE TABLE t AS SELECT 1",
            "INSERT INTO shipments VALUES (1)",
            "DELETE FROM shipments",
            "UPDATE shipments SET mode = 'AIR'",
            "SELECT 1; DROP TABLE shipments",
            "SELECT 1; SELECT 2",
            "SET datafusion.execution.batch_size = 1",
            "COPY shipments TO '/tmp/x.csv'",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "EXPLAIN SELECT 1",
        ] {
            match check_read_only(refused) {
                Err(QueryError::NotAQuery(_)) => {}
                other => panic!("{refused}: {other:?}"),
            }
        }
        assert!(matches!(
            check_read_only("SELEC 1"),
            Err(QueryError::Sql(_))
        ));
    }

    fn engine(limits: SqlLimits) -> SqlEngine {
        SqlEngine::new(Arc::new(Snapshots::default()), limits).unwrap()
    }

    #[tokio::test]
    async fn queries_beyond_the_concurrency_limit_are_refused_not_queued() {
        let one = engine(SqlLimits {
            max_concurrent: 1,
            ..SqlLimits::default()
        });
        let running = one.slot().unwrap();
        match one.query("SELECT 1").await {
            Err(QueryError::Quota(message)) => assert!(message.contains("1 queries"), "{message}"),
            other => panic!("{:?}", other.map(|a| a.rows())),
        }
        drop(running);
        assert_eq!(one.query("SELECT 1").await.unwrap().rows(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queries_are_bounded_in_rows_time_and_memory() {
        let rows = engine(SqlLimits {
            max_rows: 3,
            ..SqlLimits::default()
        });
        let answer = rows
            .query("SELECT * FROM generate_series(1, 10)")
            .await
            .unwrap();
        assert_eq!((answer.rows(), answer.truncated), (3, true));
        let answer = rows.query("SELECT count(*) FROM shipments").await.unwrap();
        assert_eq!(answer.to_json().rows, vec![vec![serde_json::json!(0)]]);

        let slow = engine(SqlLimits {
            timeout: Duration::from_millis(200),
            ..SqlLimits::default()
        });
        let started = std::time::Instant::now();
        let error = slow
            .query("SELECT count(*) FROM generate_series(1, 100000000000)")
            .await
            .err()
            .expect("stopped by the time limit");
        assert!(matches!(error, QueryError::SqlTimeout(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));

        let small = engine(SqlLimits {
            memory: 1 << 20,
            ..SqlLimits::default()
        });
        let error = small
            .query("SELECT value FROM generate_series(1, 5000000) ORDER BY value DESC")
            .await
            .err()
            .expect("stopped by the memory limit");
        assert!(matches!(error, QueryError::SqlResources(_)), "{error}");
    }
}
