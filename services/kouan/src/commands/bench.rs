//! `kouan bench …`: benchmarks that print numbers (never timed tests).

use crate::cli::BenchIngestArgs;
use anyhow::Context;
use kouan_bus::Topics;
use kouan_model::ids::{make_awb, make_container_number};
use kouan_model::*;
use std::io::Write;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Ingest throughput into the real broker: file → parse → validate → protobuf → Kafka, acknowledged;
/// beside it, Kafka's own `ProducerPerformance` with the same record count, mean record size and
/// acks, and the processor's reader (decode included) beside `ConsumerPerformance` on the topics
/// the ingest filled.
pub async fn ingest(
    args: BenchIngestArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let (path, temporary) = match &args.file {
        Some(path) => (path.clone(), false),
        None => (
            std::env::temp_dir().join(format!("kouan-bench-{}.ndjson", std::process::id())),
            true,
        ),
    };
    let written = write_synthetic_file(&path, args.events).context("writing the event file")?;
    let bytes = std::fs::metadata(&path)?.len();
    // A namespace of its own, so repeated runs do not add up in one topic.
    let topics = Topics::new(format!(
        "{}-bench-{}",
        topics.namespace(),
        std::process::id()
    ));
    let brokers = args.brokers.brokers.clone();
    kouan_bus::topics::ensure_topics(&brokers, &topics).await?;
    let file = path.clone();
    let ingest_brokers = brokers.clone();
    let ingest_topics = topics.clone();
    let started = Instant::now();
    let summary = tokio::task::spawn_blocking(move || {
        super::ingest::ingest_path(&ingest_brokers, &ingest_topics, &file, &cancel)
    })
    .await??;
    let seconds = started.elapsed().as_secs_f64();
    if temporary {
        let _ = std::fs::remove_file(&path);
    }
    anyhow::ensure!(
        summary.published == written,
        "published {} of {written}",
        summary.published
    );
    let ours = summary.published as f64 / seconds;
    let mut lines = vec![format!(
        "bench ingest: {} events ({:.1} MiB) published and acknowledged in {:.2} s = {:.0} events/s",
        summary.published,
        bytes as f64 / (1024.0 * 1024.0),
        seconds,
        ours
    )];

    let event_topics: Vec<String> = BodyKind::ALL
        .iter()
        .map(|kind| topics.events(*kind))
        .collect();
    let reader_brokers = brokers.clone();
    let (read, read_bytes, read_seconds) =
        tokio::task::spawn_blocking(move || read_all_events(&reader_brokers, &event_topics))
            .await??;
    anyhow::ensure!(
        read == written,
        "the reader got {read} of {written} records"
    );
    let reader_rate = read as f64 / read_seconds;
    lines.push(format!(
        "bench ingest: processor reader (poll + protobuf decode) read {read} records in {read_seconds:.2} s = {reader_rate:.0} records/s"
    ));

    if args.kafka_script != "none" {
        let record_size = (read_bytes / read.max(1)).max(1);
        let perf_topic = format!("{}.perf", topics.namespace());
        kouan_bus::topics::create_topics(
            &brokers,
            &[kouan_bus::topics::TopicSpec {
                name: perf_topic.clone(),
                cleanup: kouan_bus::topics::Cleanup::Delete(
                    kouan_bus::topics::DEFAULT_EVENT_RETENTION,
                ),
            }],
            kouan_bus::topics::DEFAULT_PARTITIONS * BodyKind::ALL.len() as i32,
            1,
        )
        .await?;
        let producer = kafka_tool(
            &args.kafka_script,
            &[
                "ProducerPerformance",
                "--topic",
                &perf_topic,
                "--num-records",
                &written.to_string(),
                "--record-size",
                &record_size.to_string(),
                "--throughput",
                "-1",
                "--producer-props",
                &format!("bootstrap.servers={brokers}"),
                "acks=all",
                "linger.ms=5",
                "batch.size=1000000",
            ],
        )
        .await?;
        let kafka_producer = parse_producer_performance(&producer)
            .with_context(|| format!("reading ProducerPerformance's summary from: {producer}"))?;
        lines.push(format!(
            "bench ingest: kafka ProducerPerformance {written} records of {record_size} B, acks=all: {kafka_producer:.0} records/s; kouan ingest / ProducerPerformance = {:.2}",
            ours / kafka_producer
        ));
        let consumer = kafka_tool(
            &args.kafka_script,
            &[
                "ConsumerPerformance",
                "--bootstrap-server",
                &brokers,
                "--topic",
                &perf_topic,
                "--messages",
                &written.to_string(),
                "--timeout",
                "60000",
            ],
        )
        .await?;
        let kafka_consumer = parse_consumer_performance(&consumer)
            .with_context(|| format!("reading ConsumerPerformance's summary from: {consumer}"))?;
        lines.push(format!(
            "bench ingest: kafka ConsumerPerformance: {kafka_consumer:.0} records/s; processor reader / ConsumerPerformance = {:.2}",
            reader_rate / kafka_consumer
        ));
    }
    for line in &lines {
        println!("{line}");
    }
    if let Some(report) = &args.report {
        std::fs::write(report, lines.join("\n") + "\n")?;
    }
    Ok(0)
}

/// Reads every record of `topics` from the beginning and decodes it as the processor does:
/// (records, payload bytes, seconds).
fn read_all_events(brokers: &str, topics: &[String]) -> anyhow::Result<(u64, u64, f64)> {
    let cancel = CancellationToken::new();
    let mut follower =
        kouan_bus::Follower::from_beginning(brokers, "kouan-bench-reader", topics, &cancel)?;
    let started = Instant::now();
    let (mut records, mut bytes) = (0u64, 0u64);
    follower.catch_up(&cancel, |message| {
        let payload = rdkafka::Message::payload(message).unwrap_or_default();
        bytes += payload.len() as u64;
        if protobuf::decode_event(payload).is_ok() {
            records += 1;
        }
    })?;
    Ok((records, bytes, started.elapsed().as_secs_f64()))
}

/// Runs `scripts/kafka tool ARGS…` and returns what it printed.
async fn kafka_tool(script: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = tokio::process::Command::new(script)
        .arg("tool")
        .args(args)
        .output()
        .await
        .with_context(|| format!("running {script} (pass --kafka-script PATH or none)"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "{script} tool {} failed: {}{}",
        args[0],
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(text)
}

/// The records/s of ProducerPerformance's last line: `N records sent, R records/sec (…), …`.
fn parse_producer_performance(output: &str) -> Option<f64> {
    let line = output
        .lines()
        .rev()
        .find(|line| line.contains("records sent"))?;
    let after = line.split(", ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// `fetch.nMsg.sec` (records/s excluding the group join) of ConsumerPerformance's CSV line.
fn parse_consumer_performance(output: &str) -> Option<f64> {
    let mut lines = output.lines().filter(|line| line.contains(','));
    let header: Vec<&str> = lines.next()?.split(',').map(str::trim).collect();
    let values: Vec<&str> = lines.next()?.split(',').map(str::trim).collect();
    let column = header.iter().position(|name| *name == "fetch.nMsg.sec")?;
    values.get(column)?.parse().ok()
}

/// A mix of every body kind with realistic field sizes: bookings, yard and rail moves of
/// containers, train and flight movements, AWB milestones and customs statuses.
fn write_synthetic_file(path: &std::path::Path, events: u64) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let start = Timestamp::parse("2026-11-01T00:00:00+08:00").expect("constant");
    for index in 0..events {
        let n = index as u32;
        let time = start.plus_millis(index as i64 * 1000);
        let shipment_id = format!("ZZHH26{:08}", n / 10);
        let container = make_container_number("CSQ", 'U', n / 10);
        let train = format!(
            "X{}-202611{:02}",
            8000 + (n / 1000) % 100,
            1 + (n / 50_000) % 28
        );
        let body = match index % 5 {
            0 => Body::from(ShipmentBody {
                kind: ShipmentEventType::Booked,
                shipment_id,
                document_type: Some(DocumentType::RailWaybill),
                shipper: Some(format!("shipper-{}", n % 7)),
                mode: Some(ShipmentMode::Rail),
                direction: Some(Direction::Export),
                origin: Some("CNZZP".into()),
                destination: Some("DEHAM".into()),
                port_of_entry: None,
                units: vec![container],
                pieces: Some(40),
                weight_kg: Some(18250.5),
                hs_code: Some("8471".into()),
            }),
            1 => Body::Equipment(EquipmentBody {
                kind: EquipmentEventType::Load,
                equipment_reference: container.into(),
                empty_indicator: EmptyIndicator::Laden,
                shipment_ids: vec![],
                transport: Some(TransportRef {
                    mode: TransportMode::Rail,
                    reference: train.into(),
                }),
            }),
            2 => Body::Transport(TransportBody {
                kind: TransportEventType::Departed,
                mode: TransportMode::Rail,
                reference: train.into(),
            }),
            3 => Body::Air(AirBody {
                status: AirStatus::Dep,
                awb: make_awb(784, n).into(),
                flight: Some("CZ0431-20261120".into()),
                pieces: Some(12),
                weight_kg: Some(3400.5),
            }),
            _ => Body::Customs(CustomsBody {
                status: CustomsStatus::Declared,
                declaration_number: format!("4604202610{:08}", n).into(),
                shipment_id: shipment_id.into(),
                direction: Some(Direction::Export),
                procedure: Some(CustomsProcedure::Standard),
            }),
        };
        let event = Event {
            event_id: format!("bench-{index}").into(),
            source: "bench".into(),
            event_time: time,
            recorded_time: None,
            classifier: None,
            location: Some(std::sync::Arc::new(Location {
                unlocode: "CNZZP".into(),
                facility: None,
                name: None,
            })),
            retracted: false,
            body,
        };
        out.write_all(event.to_json().as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summaries_of_kafkas_tools() {
        let producer = "500000 records sent, 123456.7 records/sec (40.1 MB/sec), 12.3 ms avg latency, 300.0 ms max latency, 5 ms 50th, 40 ms 95th, 60 ms 99th, 90 ms 99.9th.\n";
        assert_eq!(parse_producer_performance(producer), Some(123456.7));
        let consumer = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n2026-11-30 16:00:00:000, 2026-11-30 16:00:02:000, 100.0, 50.0, 500000, 250000.0, 300, 1700, 58.8, 294117.6\n";
        assert_eq!(parse_consumer_performance(consumer), Some(294117.6));
        assert_eq!(parse_producer_performance("nothing"), None);
    }
}
