//! `kouan ingest FILE|-`.

use crate::cli::IngestArgs;
use anyhow::Context;
use kouan_bus::{Publisher, Topics};
use kouan_emitter::ingest::{ingest, IngestSummary};
use kouan_emitter::sink::EventSink;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: IngestArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    kouan_bus::topics::ensure_topics(&args.brokers.brokers, &topics)
        .await
        .context("making sure the topics exist")?;
    let brokers = args.brokers.brokers.clone();
    let file = args.file.clone();
    let started = Instant::now();
    let summary =
        tokio::task::spawn_blocking(move || ingest_path(&brokers, &topics, &file, &cancel))
            .await
            .context("ingest task")??;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "ingest: {} published, {} rejected, {} lines in {:.2} s{}",
        summary.published,
        summary.rejected,
        summary.lines,
        seconds,
        if summary.cancelled {
            " (stopped early)"
        } else {
            ""
        }
    );
    Ok(if summary.rejected > 0 || summary.cancelled {
        1
    } else {
        0
    })
}

/// Publishes a file (or stdin for `-`) and waits until every record is delivered.
pub fn ingest_path(
    brokers: &str,
    topics: &Topics,
    file: &Path,
    cancel: &CancellationToken,
) -> anyhow::Result<IngestSummary> {
    let publisher = Publisher::new(brokers).context("creating producer")?;
    let sink = EventSink::new(&publisher, topics);
    let (reader, origin): (Box<dyn BufRead>, String) = if file == Path::new("-") {
        (
            Box::new(BufReader::with_capacity(1 << 16, std::io::stdin().lock())),
            "stdin".into(),
        )
    } else {
        let opened =
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        (
            Box::new(BufReader::with_capacity(1 << 16, opened)),
            file.display().to_string(),
        )
    };
    let stderr = std::io::stderr();
    let summary = ingest(reader, &origin, &sink, cancel, |line, reject| {
        let _ = writeln!(stderr.lock(), "line {line}: {reject}");
    })?;
    publisher
        .flush(Duration::from_secs(120))
        .context("waiting for the broker to acknowledge every record")?;
    Ok(summary)
}
