//! Command-line interface.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kouan",
    version,
    about = "Event-streamed logistics visibility for an inland trade hub"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "KOUAN_LOG_FORMAT"
    )]
    pub log_format: LogFormat,

    /// Topic namespace: topics are named `<namespace>.events.shipment`, `<namespace>.status`, …
    #[arg(long, global = true, default_value = "kouan", env = "KOUAN_NAMESPACE")]
    pub namespace: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct Brokers {
    /// Kafka bootstrap servers, HOST:PORT[,...].
    #[arg(long, env = "KOUAN_BROKERS")]
    pub brokers: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process for a first look: (embedded broker,) topics, simulator,
    /// processor and alerter.
    Up(UpArgs),
    /// Manage kouan's topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Publish NDJSON events; prints `line N: reason` per rejected line and exits 1 if any.
    Ingest(IngestArgs),
    /// Poll a system's events into kouan.
    Pull {
        #[command(subcommand)]
        command: PullCommand,
    },
    /// The Zhengzhou-hub simulator: publishes in real time, or writes NDJSON with `--out`.
    Simulate(SimulateArgs),
    /// The stream processor: events in, one status record per shipment out on `kouan.status`.
    Process(ProcessArgs),
    /// Dwell-time anomaly, missing-milestone and customs alerts on `kouan.alerts`.
    Alert(AlertArgs),
    /// The status store and query service: HTTP API, SQL, live feed, webhooks, dashboard.
    Serve(ServeArgs),
    /// Publishes again the events of dead letters (by default the late events of conveyances
    /// nothing reached), once `--retention` has been raised to take them.
    ReplayDeadLetters(crate::commands::replay::ReplayArgs),
    /// Operator SQL console: runs QUERY, or an interactive prompt without it.
    Sql(SqlArgs),
    /// Benchmarks that print numbers.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PullCommand {
    /// A carrier's DCSA Track & Trace 2.2 events (`GET /v2/events`), page by page; each page and
    /// the poller's cursor are committed together, so a restart resumes where it stopped.
    Dcsa(PullDcsaArgs),
}

#[derive(Debug, Args)]
pub struct PullDcsaArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// The base URL of the carrier's T&T API (events are read from `URL/v2/events`).
    #[arg(long)]
    pub url: String,
    /// A bearer token for the carrier's API.
    #[arg(long, env = "KOUAN_PULL_TOKEN")]
    pub token: Option<String>,
    /// The carrier, as the source of its events.
    #[arg(long)]
    pub source: String,
    /// The poller's name (its cursor's key); the source when absent.
    #[arg(long)]
    pub name: Option<String>,
    /// Events asked for per page.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// The pause between two polls once the carrier has nothing more.
    #[arg(long, default_value = "1min", value_parser = humantime::parse_duration)]
    pub every: std::time::Duration,
    /// Poll until the carrier has nothing more, then stop.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create the topics of API.md; existing topics are left as they are.
    Create(TopicsCreateArgs),
}

#[derive(Debug, Args)]
pub struct TopicsCreateArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Partitions per topic.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Replicas per partition, for every topic (internal ones too).
    #[arg(long, default_value_t = 1)]
    pub replication_factor: i32,
    /// How long event and dead-letter records are kept (the processor does not need them once
    /// processed: its state lives in compacted internal topics).
    #[arg(long, default_value = "7days", value_parser = humantime::parse_duration)]
    pub event_retention: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// File to publish, or `-` for standard input.
    pub file: PathBuf,
    /// The input's format: ndjson, edifact, cargo-imp, cargo-xml, dcsa or onerecord; told by content when absent.
    #[arg(long)]
    pub format: Option<String>,
    /// The source of messages that name no sender (a DCSA event, an FSU without its Type B
    /// envelope).
    #[arg(long)]
    pub source: Option<String>,
    /// `SOURCE IANA-ZONE` lines: the zone of each source whose times carry no offset (EDIFACT
    /// `203`, Cargo-IMP); such a time from a source not listed is rejected.
    #[arg(long, env = "KOUAN_SOURCE_ZONES")]
    pub source_zones: Option<PathBuf>,
    /// Dates written without a year (Cargo-IMP) are read in the year nearest this time (RFC
    /// 3339; default: now).
    #[arg(long)]
    pub reference_time: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest throughput: writes an NDJSON file of synthetic events and times `ingest` on it.
    Ingest(BenchIngestArgs),
    /// Query service with N shipments: rebuild, memory, lookup p99, KPI time, SSE latency.
    Serve(BenchServeArgs),
    /// Simulator generation speed: events/s written to a file.
    Simulate(BenchSimulateArgs),
    /// Processor: events per CPU-second, end-to-end events/s, p50/p99 publication-to-status latency, bytes per shipment.
    Process(BenchProcessArgs),
}

#[derive(Debug, Args)]
pub struct BenchProcessArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Simulated events for the throughput and memory runs.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Steady publication rates of the latency runs, events/s (one run each).
    #[arg(long, value_delimiter = ',', default_values_t = [5_000.0, 20_000.0])]
    pub rates: Vec<f64>,
    /// The broker's process id (its JVM): its CPU seconds over the whole bench are reported
    /// (`broker_cpu_seconds`).
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Length of the latency run.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub latency_duration: std::time::Duration,
    /// Write the numbers to this file as one JSON object.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Processor group: the instances of one Kafka consumer group split the shipments (the
    /// partitions of `kouan.internal.by-shipment`) by the group's own assignment.
    #[arg(long, default_value = "kouan-process", env = "KOUAN_GROUP")]
    pub group: String,
    /// Serve Prometheus `/metrics` (events in per topic, status out, rejections, consumer lag,
    /// latency histogram) on this address.
    #[arg(long, env = "KOUAN_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Forget a delivered or cancelled shipment this long (event time) after it finished.
    #[arg(long, default_value = "30days", value_parser = humantime::parse_duration)]
    pub retention: std::time::Duration,
    /// Keep a local checkpoint of the shipment stage here (one directory per instance): a
    /// restart loads it and reads from Kafka only what came after (refused, and restored from
    /// the topics, when it is damaged, of another build or other topics, older than half their
    /// `delete.retention.ms`, or resumes outside what the topics hold). Without it every start
    /// restores from the topics. An instance owning some of the partitions also keeps here, in
    /// a scratch file unlinked at once, the container history its shipments do not need (the
    /// system's temporary directory without it).
    #[arg(long, env = "KOUAN_PROCESS_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// How often the checkpoint is taken (and once more at a clean stop).
    #[arg(long, default_value = "5min", value_parser = humantime::parse_duration)]
    pub checkpoint_every: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Kafka bootstrap servers; without it an embedded broker is started (a first look only:
    /// it keeps a few MB per partition and nothing survives the process).
    #[arg(long, env = "KOUAN_BROKERS")]
    pub brokers: Option<String>,
    /// Simulator pace while it catches up with the present, events/s; without it, as fast as
    /// the pipeline takes them.
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How far back the simulation starts before following the wall clock: 30 days put trains
    /// on every stretch of the rail corridors (their trips take 10–25 days).
    #[arg(long, default_value = "30days", value_parser = humantime::parse_duration)]
    pub history: std::time::Duration,
    /// Shipments booked per simulated day (2,000 a day over 30 days is ~650,000 events, which a
    /// 2-core machine catches up in under a minute).
    #[arg(long, default_value_t = 2000.0)]
    pub shipments_per_day: f64,
    /// Tokens as for `serve`; without it an operator token and one token per simulated
    /// shipper are generated and printed.
    #[arg(long, env = "KOUAN_AUTH_FILE")]
    pub auth_file: Option<PathBuf>,
    #[command(flatten)]
    pub serve: ServeOptions,
}

#[derive(Debug, Args)]
pub struct AlertArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Rules as JSON (see the README); defaults for anything left out.
    #[arg(long, env = "KOUAN_ALERT_RULES")]
    pub rules: Option<PathBuf>,
    /// Serve Prometheus `/metrics` (status in, alerts out, alerts firing) on this address.
    #[arg(long, env = "KOUAN_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How often open dwells and overdue milestones are re-checked.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub tick: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Kafka bootstrap servers (not needed with `--out`).
    #[arg(long, env = "KOUAN_BROKERS", required_unless_present = "out")]
    pub brokers: Option<String>,
    /// Events per second: the publishing pace, or with `--out` the count per second of `--duration`.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// How long to run (`60s`, `10m`, `2h`); `0` publishes until stopped.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Write `rate × duration` NDJSON lines here, as fast as possible, instead of publishing.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With `--out`: write each event in the first of these standards (comma-separated:
    /// edifact, cargo-imp, cargo-xml, dcsa, onerecord) that can say it, to `OUT.<extension>` per standard, and the
    /// rest as NDJSON to `OUT.ndjson`. Times without an offset are written in
    /// `--format-zone`.
    #[arg(long, requires = "out", value_delimiter = ',')]
    pub format: Vec<String>,
    /// The clock of every simulated source in `--format` output (an IANA zone).
    #[arg(long, default_value = "Asia/Shanghai")]
    pub format_zone: String,
    /// Write the injected anomalies here, one JSON line each (shipment, node, kind, start).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Simulated seconds per wall second when publishing; by default the pace is set by `--rate` alone.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Never publish what is recorded in the future: once simulated time reaches the present,
    /// follow the wall clock (start in the past with `--start` to catch up first).
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

/// The scenario and its messiness; the same values and seed give the same bytes.
#[derive(Debug, Args, Clone)]
pub struct ScenarioArgs {
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated time of the first booking (RFC 3339).
    #[arg(long, default_value = "2026-11-01T00:00:00+08:00")]
    pub start: String,
    /// Shipments booked per simulated day.
    #[arg(long, default_value_t = 1200.0)]
    pub shipments_per_day: f64,
    /// Share of shipments with an injected anomaly (long dwell, customs hold or rejection, missing milestone).
    #[arg(long, default_value_t = 0.05)]
    pub anomaly_rate: f64,
    /// Share of events delivered twice.
    #[arg(long, default_value_t = 0.02)]
    pub duplicates: f64,
    /// Out-of-order window: events arrive up to this late, so neighbours swap (`5m`, `0s`).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub reorder_window: std::time::Duration,
    /// Share of link events (LOAD, STUF, MAN) delivered hours after the events they explain.
    #[arg(long, default_value_t = 0.05)]
    pub late_links: f64,
    /// Share of actual events corrected later (same eventId, later recordedTime).
    #[arg(long, default_value_t = 0.01)]
    pub corrections: f64,
    /// Share of actual events shadowed by an erroneous twin that is later retracted.
    #[arg(long, default_value_t = 0.005)]
    pub retractions: f64,
    /// Share of events accompanied by a malformed record.
    #[arg(long, default_value_t = 0.0)]
    pub malformed: f64,
}

#[derive(Debug, Args)]
pub struct BenchSimulateArgs {
    /// Events to generate.
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,
    /// Write the result line to this file as well.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Events in the file.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Where to write the file (default: a temporary file, removed afterwards).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Write the result lines to this file as well.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The `scripts/kafka` of this repository, to run Kafka's own ProducerPerformance and
    /// ConsumerPerformance as anchors on the same broker; `none` skips the anchors.
    #[arg(long, env = "KOUAN_KAFKA_SCRIPT", default_value = "scripts/kafka")]
    pub kafka_script: String,
}

#[derive(Debug, Args, Clone)]
pub struct ServeOptions {
    /// Address of the HTTP API and dashboard.
    #[arg(long, default_value = "127.0.0.1:8080", env = "KOUAN_LISTEN")]
    pub listen: std::net::SocketAddr,
    /// Changes kept for feeds and webhooks to resume from; a reader further behind catches up
    /// from the current records (intermediate versions skipped).
    #[arg(long, default_value_t = 200_000)]
    pub feed_window: usize,
    /// Rows one SQL answer returns at most (longer answers are cut and marked truncated).
    #[arg(long, default_value_t = 10_000, env = "KOUAN_SQL_MAX_ROWS")]
    pub sql_max_rows: usize,
    /// Time one SQL query may take.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, env = "KOUAN_SQL_TIMEOUT")]
    pub sql_timeout: std::time::Duration,
    /// Memory one SQL query's operators may use, MiB.
    #[arg(long, default_value_t = 512, env = "KOUAN_SQL_MEMORY_MIB")]
    pub sql_memory_mib: usize,
    /// SQL queries (and KPI requests) running at once; one more is answered 429.
    #[arg(long, default_value_t = 4, env = "KOUAN_SQL_MAX_CONCURRENT")]
    pub sql_max_concurrent: usize,
    /// Webhook destinations allowed besides public addresses: a host name, an address or a CIDR
    /// network (repeatable, or comma-separated in the environment). Loopback, private,
    /// link-local and similar addresses are refused otherwise.
    #[arg(long, env = "KOUAN_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<String>,
    /// Webhook subscriptions one shipper may hold.
    #[arg(long, default_value_t = 20)]
    pub max_subscriptions_per_shipper: usize,
    /// A webhook destination failing every attempt this long is paused.
    #[arg(long, default_value = "1day", value_parser = humantime::parse_duration)]
    pub webhook_pause_after: std::time::Duration,
    /// Open feeds (SSE) at most.
    #[arg(long, default_value_t = 10_000)]
    pub max_feed_clients: usize,
    /// `/metrics` answers only to an operator's bearer token.
    #[arg(long, env = "KOUAN_PROTECT_METRICS")]
    pub protect_metrics: bool,
    /// Time a client has to send a request's headers (and a kept-alive connection may stay idle).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: std::time::Duration,
    /// Open HTTP connections at most; one more is closed at once.
    #[arg(long, default_value_t = 20_000)]
    pub max_connections: usize,
    /// Directory for the store's checkpoint: a restart loads it and reads only the records
    /// published since, instead of all of `kouan.status` (refused, and the topics read from
    /// the beginning, when it is damaged, of other topics, or older than half their
    /// `delete.retention.ms`). Without it every start reads the topics from the beginning.
    #[arg(long, env = "KOUAN_SERVE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// How often the store's checkpoint is written (and once more at shutdown).
    #[arg(long, default_value = "5min", value_parser = humantime::parse_duration)]
    pub checkpoint_every: std::time::Duration,
    /// The time zone of each source whose times carry no offset, for the intake: one
    /// `SOURCE IANA-ZONE` per line.
    #[arg(long, env = "KOUAN_SOURCE_ZONES")]
    pub source_zones: Option<PathBuf>,
    /// The DCSA subscriptions kouan holds at carriers, whose callbacks the intake takes: one
    /// `SUBSCRIPTION_ID SOURCE SECRET` (base64) per line.
    #[arg(long, env = "KOUAN_DCSA_SUBSCRIPTIONS")]
    pub dcsa_subscriptions: Option<PathBuf>,
    /// The largest body the intake reads, bytes (one more is answered 413).
    #[arg(long, default_value_t = 16 << 20)]
    pub intake_max_bytes: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// Tokens and roles, one per line: `TOKEN operator`, `TOKEN shipper SHIPPER_ID` or
    /// `TOKEN producer SOURCE…`.
    #[arg(long, env = "KOUAN_AUTH_FILE")]
    pub auth_file: PathBuf,
    #[command(flatten)]
    pub options: ServeOptions,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Base URL of `kouan serve`.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "KOUAN_URL")]
    pub url: String,
    /// An operator token.
    #[arg(long, env = "KOUAN_TOKEN")]
    pub token: String,
    /// The query; without it, an interactive prompt (history in ~/.kouan_sql_history).
    pub query: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchServeArgs {
    /// Shipments loaded into the store.
    #[arg(long, default_value_t = 1_000_000)]
    pub shipments: usize,
    /// Point lookups in all.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent HTTP clients of the lookups.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Runs of the clearance KPI query.
    #[arg(long, default_value_t = 10)]
    pub kpi_runs: usize,
    /// Status changes timed through the SSE feed.
    #[arg(long, default_value_t = 2_000)]
    pub sse_changes: usize,
    /// Their pace, changes/s.
    #[arg(long, default_value_t = 500.0)]
    pub sse_rate: f64,
    /// Feed clients (shippers' tokens) connected during the lookups under load.
    #[arg(long, default_value_t = 1_000)]
    pub feed_clients: usize,
    /// Hostile clients during the lookups under load: each reconnects to the feed again and
    /// again resuming from the very start with a token that sees none of the changes, so the
    /// server walks the whole store for nothing.
    #[arg(long, default_value_t = 4)]
    pub hostile_clients: usize,
    /// Write the result lines to this file as well.
    #[arg(long)]
    pub report: Option<PathBuf>,
}
