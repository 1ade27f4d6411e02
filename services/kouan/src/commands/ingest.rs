//! `kouan ingest [--format F] FILE|-`: kouan's NDJSON streamed line by line, or a standard's
//! messages (EDIFACT, Cargo-IMP, DCSA) read whole, each message reported.

use crate::cli::IngestArgs;
use anyhow::Context as _;
use kouan_bus::{Publisher, Topics};
use kouan_emitter::ingest::{ingest, IngestSummary};
use kouan_emitter::messages::{self, MessagesSummary};
use kouan_emitter::sink::EventSink;
use kouan_model::Timestamp;
use kouan_standards::{Context, Format, MessageOutcome, SourceZones};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The largest input of a standard format read whole (NDJSON streams in constant memory).
const MAX_MESSAGES_BYTES: u64 = 512 << 20;

pub async fn run(
    args: IngestArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let format = match &args.format {
        Some(name) => Some(Format::from_name(name).ok_or_else(|| {
            anyhow::anyhow!("--format: {name:?} is none of ndjson, edifact, cargo-imp, cargo-xml, dcsa, onerecord")
        })?),
        None => None,
    };
    let zones = match &args.source_zones {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            SourceZones::parse(&text)
                .with_context(|| format!("--source-zones {}", path.display()))?
        }
        None => SourceZones::default(),
    };
    let reference_time = match &args.reference_time {
        Some(text) => Timestamp::parse(text)
            .map_err(|reason| anyhow::anyhow!("--reference-time: {reason}"))?,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the clock is before 1970")?;
            Timestamp::from_unix_millis(now.as_millis() as i64).expect("the clock is in range")
        }
    };
    kouan_bus::topics::ensure_topics(&args.brokers.brokers, &topics)
        .await
        .context("making sure the topics exist")?;
    let brokers = args.brokers.brokers.clone();
    let file = args.file.clone();
    let source = args.source.clone();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<(i32, String)> {
        let (mut reader, origin) = open(&file)?;
        let format = match format {
            Some(format) => format,
            None => {
                let head = reader.fill_buf().context("reading the input")?;
                Format::detect(head).ok_or_else(|| {
                    anyhow::anyhow!("the input's format cannot be told from its start: give --format")
                })?
            }
        };
        if format == Format::Ndjson {
            let summary = ingest_reader(&brokers, &topics, reader, &origin, &cancel)?;
            let line = format!(
                "{} published, {} rejected, {} lines{}",
                summary.published,
                summary.rejected,
                summary.lines,
                stopped_early(summary.cancelled)
            );
            let failed = summary.rejected > 0 || summary.cancelled;
            return Ok((i32::from(failed), line));
        }
        let mut input = Vec::new();
        reader
            .take(MAX_MESSAGES_BYTES + 1)
            .read_to_end(&mut input)
            .context("reading the input")?;
        anyhow::ensure!(
            input.len() as u64 <= MAX_MESSAGES_BYTES,
            "{origin}: larger than {MAX_MESSAGES_BYTES} bytes; split it (NDJSON streams at any size)"
        );
        let context = Context {
            zones: &zones,
            source: source.as_deref(),
            reference_time,
        };
        let outcomes = format.parse(&input, &context);
        let summary = publish_messages(&brokers, &topics, &outcomes, &origin, &cancel)?;
        let line = format!(
            "{} published, {} rejected, {} {} messages{}",
            summary.published,
            summary.rejected,
            summary.messages,
            format.name(),
            stopped_early(summary.cancelled)
        );
        let failed = summary.rejected > 0 || summary.cancelled;
        Ok((i32::from(failed), line))
    })
    .await
    .context("ingest task")??;
    eprintln!(
        "ingest: {} in {:.2} s",
        outcome.1,
        started.elapsed().as_secs_f64()
    );
    Ok(outcome.0)
}

fn stopped_early(cancelled: bool) -> &'static str {
    if cancelled {
        " (stopped early)"
    } else {
        ""
    }
}

type Input = (Box<dyn BufRead + Send>, String);

fn open(file: &Path) -> anyhow::Result<Input> {
    if file == Path::new("-") {
        return Ok((
            Box::new(BufReader::with_capacity(1 << 16, std::io::stdin())),
            "stdin".into(),
        ));
    }
    let opened =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    Ok((
        Box::new(BufReader::with_capacity(1 << 16, opened)),
        file.display().to_string(),
    ))
}

/// Publishes a standard's messages, reporting each on stdout, and waits for the broker.
fn publish_messages(
    brokers: &str,
    topics: &Topics,
    outcomes: &[MessageOutcome],
    origin: &str,
    cancel: &CancellationToken,
) -> anyhow::Result<MessagesSummary> {
    let publisher = Publisher::new(brokers).context("creating producer")?;
    let sink = EventSink::new(&publisher, topics);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = messages::publish(outcomes, origin, &sink, cancel, |outcome| {
        let taken = outcome.taken().count();
        let _ = writeln!(out, "{}: {taken} taken", outcome.reference);
        for reject in outcome.rejections() {
            let _ = writeln!(out, "  rejected {reject}");
        }
    })?;
    drop(out);
    publisher
        .flush(Duration::from_secs(120))
        .context("waiting for the broker to acknowledge every record")?;
    Ok(summary)
}

/// Publishes a file (or stdin for `-`) of NDJSON and waits until every record is delivered.
pub fn ingest_path(
    brokers: &str,
    topics: &Topics,
    file: &Path,
    cancel: &CancellationToken,
) -> anyhow::Result<IngestSummary> {
    let (reader, origin) = open(file)?;
    ingest_reader(brokers, topics, reader, &origin, cancel)
}

fn ingest_reader(
    brokers: &str,
    topics: &Topics,
    reader: Box<dyn BufRead + Send>,
    origin: &str,
    cancel: &CancellationToken,
) -> anyhow::Result<IngestSummary> {
    let publisher = Publisher::new(brokers).context("creating producer")?;
    let sink = EventSink::new(&publisher, topics);
    let stderr = std::io::stderr();
    let summary = ingest(reader, origin, &sink, cancel, |line, reject| {
        let _ = writeln!(stderr.lock(), "line {line}: {reject}");
    })?;
    publisher
        .flush(Duration::from_secs(120))
        .context("waiting for the broker to acknowledge every record")?;
    Ok(summary)
}
