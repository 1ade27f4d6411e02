//! `kouan bench …`: benchmarks that print numbers (never timed tests).

use crate::cli::BenchIngestArgs;
use anyhow::Context;
use kouan_bus::Topics;
use kouan_model::ids::{make_awb, make_container_number};
use kouan_model::*;
use std::io::Write;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Ingest throughput into the real broker: file → parse → validate → protobuf → Kafka, acknowledged.
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
    kouan_bus::topics::create_topics(
        &args.brokers.brokers,
        &topics.public_specs(),
        super::ingest::DEFAULT_PARTITIONS,
        1,
    )
    .await?;
    let brokers = args.brokers.brokers.clone();
    let file = path.clone();
    let started = Instant::now();
    let summary = tokio::task::spawn_blocking(move || {
        super::ingest::ingest_path(&brokers, &topics, &file, &cancel)
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
    let line = format!(
        "bench ingest: {} events ({:.1} MiB) published and acknowledged in {:.2} s = {:.0} events/s",
        summary.published,
        bytes as f64 / (1024.0 * 1024.0),
        seconds,
        summary.published as f64 / seconds
    );
    println!("{line}");
    if let Some(report) = &args.report {
        std::fs::write(report, format!("{line}\n"))?;
    }
    Ok(0)
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
            0 => Body::Shipment(ShipmentBody {
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
                equipment_reference: container,
                empty_indicator: EmptyIndicator::Laden,
                shipment_ids: vec![],
                transport: Some(TransportRef {
                    mode: TransportMode::Rail,
                    reference: train,
                }),
            }),
            2 => Body::Transport(TransportBody {
                kind: TransportEventType::Departed,
                mode: TransportMode::Rail,
                reference: train,
            }),
            3 => Body::Air(AirBody {
                status: AirStatus::Dep,
                awb: make_awb(784, n),
                flight: Some("CZ0431-20261120".into()),
                pieces: Some(12),
                weight_kg: Some(3400.5),
            }),
            _ => Body::Customs(CustomsBody {
                status: CustomsStatus::Declared,
                declaration_number: format!("4604202610{:08}", n),
                shipment_id,
                direction: Some(Direction::Export),
                procedure: Some(CustomsProcedure::Standard),
            }),
        };
        let event = Event {
            event_id: format!("bench-{index}"),
            source: "bench".into(),
            event_time: time,
            recorded_time: None,
            classifier: None,
            location: Some(Location {
                unlocode: "CNZZP".into(),
                facility: None,
                name: None,
            }),
            retracted: false,
            body,
        };
        out.write_all(event.to_json().as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(events)
}
