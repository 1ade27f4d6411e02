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
    /// Manage kouan's topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Publish NDJSON events; prints `line N: reason` per rejected line and exits 1 if any.
    Ingest(IngestArgs),
    /// Benchmarks that print numbers.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
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
    /// Replicas per partition.
    #[arg(long, default_value_t = 1)]
    pub replication_factor: i32,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub brokers: Brokers,
    /// NDJSON file to publish, or `-` for standard input.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest throughput: writes an NDJSON file of synthetic events and times `ingest` on it.
    Ingest(BenchIngestArgs),
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
    /// Write the result line to this file as well.
    #[arg(long)]
    pub report: Option<PathBuf>,
}
