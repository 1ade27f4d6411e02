//! `kouan bench process`: the processor's numbers (issue targets in parentheses).
//!
//! 1. Events per CPU-second of the processor alone (≥ 250,000): simulated events as protobuf
//!    records, decoded, applied, affected records derived, compared and encoded — the runner's
//!    work without Kafka — on one thread, CPU time from `/proc/thread-self/stat`.
//! 2. Resident bytes per active shipment (≤ 2 KiB): resident-set growth over that run divided by
//!    the shipments held at its end (retention applied as in the runner).
//! 3. End to end through the broker: publish the events, then `kouan process`'s runner replays
//!    them and publishes every record; events/s for each half and for the whole.
//! 4. Publication-to-status latency at a steady rate (p99 ≤ 500 ms at 20,000 events/s): the
//!    runner is live, a tidy simulated stream is published at the rate, and each status change
//!    observed on `kouan.status` counts from the publication of the event that triggered it (the
//!    latest-published of its milestones) to its arrival at the observer.

use crate::cli::BenchProcessArgs;
use kouan_bus::{Publisher, Topics};
use kouan_emitter::simulator::{SimConfig, Simulator};
use kouan_model::{ndjson, pb, protobuf, Event, Timestamp};
use kouan_processor::retention::Retention;
use kouan_processor::runner::{self, ProcessConfig, ProcessStats};
use kouan_processor::Engine;
use prost::Message as _;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: BenchProcessArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let mut lines = Vec::new();
    let mut say = |line: String| {
        println!("{line}");
        lines.push(line);
    };

    let events = tokio::task::spawn_blocking({
        let count = args.events as usize;
        move || simulated(count, 1)
    })
    .await?;
    let (cpu_rate, bytes_per_shipment, heap_per_shipment, shipments) =
        tokio::task::spawn_blocking({
            let events: Vec<Vec<u8>> = events.iter().map(protobuf::encode_event).collect();
            move || core_run(&events)
        })
        .await?;
    say(format!(
        "bench process: core {} events at {cpu_rate:.0} events per CPU-second (decode, join, derive, encode)",
        events.len()
    ));
    say(format!(
        "bench process: {bytes_per_shipment:.0} resident bytes ({heap_per_shipment:.0} live heap bytes) per active shipment ({shipments} shipments held)"
    ));

    // end to end through the broker
    let namespace = format!(
        "{}-bench-process-{}",
        topics.namespace(),
        std::process::id()
    );
    let bench_topics = Topics::new(&namespace);
    super::process::ensure_topics(&args.brokers.brokers, &bench_topics).await?;
    let brokers = args.brokers.brokers.clone();
    let (publish_seconds, process_seconds, published) = tokio::task::spawn_blocking({
        let topics = bench_topics.clone();
        let cancel = cancel.clone();
        move || end_to_end(&brokers, &topics, &events, &cancel)
    })
    .await??;
    let count = args.events as f64;
    say(format!(
        "bench process: end to end {count:.0} events: published in {publish_seconds:.2} s ({:.0}/s), processed into {published} status records in {process_seconds:.2} s ({:.0}/s); whole {:.0} events/s",
        count / publish_seconds,
        count / process_seconds,
        count / (publish_seconds + process_seconds)
    ));

    // latency at a steady rate
    let namespace = format!(
        "{}-bench-latency-{}",
        topics.namespace(),
        std::process::id()
    );
    let latency_topics = Topics::new(&namespace);
    super::process::ensure_topics(&args.brokers.brokers, &latency_topics).await?;
    let brokers = args.brokers.brokers.clone();
    let (p50, p99, measured, sent) = tokio::task::spawn_blocking({
        let rate = args.rate;
        let duration = args.latency_duration;
        move || latency(&brokers, &latency_topics, rate, duration, &cancel)
    })
    .await??;
    say(format!(
        "bench process: latency at {:.0} events/s for {:?}: p50 {p50:.1} ms, p99 {p99:.1} ms over {measured} status changes ({sent} events)",
        args.rate, args.latency_duration
    ));

    if let Some(report) = &args.report {
        std::fs::write(report, lines.join("\n") + "\n")?;
    }
    Ok(0)
}

fn simulated(count: usize, seed: u64) -> Vec<Event> {
    simulated_with(
        count,
        SimConfig {
            seed,
            ..SimConfig::default()
        },
    )
}

fn simulated_with(count: usize, config: SimConfig) -> Vec<Event> {
    Simulator::new(config)
        .take(count)
        .filter_map(|delivered| ndjson::decode_line(delivered.line.as_bytes()).ok())
        .collect()
}

fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // fields after the command name in parentheses: utime and stime are the 12th and 13th
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

fn resident_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

/// The runner's work without Kafka, in batches of 10,000 records (the runner's largest poll).
fn core_run(records: &[Vec<u8>]) -> (f64, f64, f64, usize) {
    let before = resident_bytes();
    let heap_before = crate::live_heap_bytes();
    let started = thread_cpu_seconds();
    let mut engine = Engine::new();
    let mut retention = Retention::new(Duration::from_secs(30 * 86_400));
    let mut published: HashMap<String, u64> = HashMap::new();
    let zero = Timestamp::from_parts(0, 0, 0).expect("epoch");
    let mut encoded = 0usize;
    for chunk in records.chunks(10_000) {
        let mut affected = BTreeSet::new();
        for record in chunk {
            if let Ok(event) = protobuf::decode_event(record) {
                engine.apply(event, &mut affected);
            }
        }
        for id in affected {
            if let Some(status) = engine.refresh(&id) {
                let (record, digest) = status.record(1, &zero);
                if published.insert(id.clone(), digest) != Some(digest) {
                    encoded += record.encode_to_vec().len();
                    retention.note(&id, &status);
                }
            }
        }
        retention.sweep(&mut engine);
    }
    let cpu = thread_cpu_seconds() - started;
    let shipments = engine.shipments().count();
    let grown = resident_bytes() - before;
    let heap = (crate::live_heap_bytes() - heap_before) as f64;
    std::hint::black_box(encoded);
    let per_shipment = |bytes: f64| bytes / shipments.max(1) as f64;
    (
        records.len() as f64 / cpu.max(1e-9),
        per_shipment(grown),
        per_shipment(heap),
        shipments,
    )
}

fn end_to_end(
    brokers: &str,
    topics: &Topics,
    events: &[Event],
    cancel: &CancellationToken,
) -> anyhow::Result<(f64, f64, u64)> {
    let publisher = Publisher::new(brokers)?;
    let sink = kouan_emitter::sink::EventSink::new(&publisher, topics);
    let started = Instant::now();
    for event in events {
        sink.publish(event)?;
    }
    publisher.flush(Duration::from_secs(300))?;
    let publish_seconds = started.elapsed().as_secs_f64();

    let stats = Arc::new(ProcessStats::default());
    let stop = cancel.child_token();
    let config = ProcessConfig {
        brokers: brokers.to_string(),
        topics: topics.clone(),
        group: "bench".into(),
        retention: Duration::from_secs(30 * 86_400),
        idle: Duration::from_millis(1500),
    };
    let started = Instant::now();
    let worker = std::thread::spawn({
        let stats = stats.clone();
        let stop = stop.clone();
        move || runner::run(&config, &stats, &stop)
    });
    // done when every event is consumed, the runner is live, and publishing has stopped
    let mut last_count = 0;
    let mut last_change = Instant::now();
    let mut finished_at = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let published = stats.published.load(Ordering::Relaxed);
        if published != last_count {
            last_count = published;
            last_change = Instant::now();
            finished_at = last_change;
        }
        let consumed = stats.events.load(Ordering::Relaxed) as usize >= events.len();
        if consumed
            && stats.live.load(Ordering::Relaxed)
            && published > 0
            && last_change.elapsed() > Duration::from_secs(3)
        {
            break;
        }
        anyhow::ensure!(!worker.is_finished(), "the processor stopped early");
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "the processor did not finish in 15 minutes"
        );
    }
    stop.cancel();
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("processor panicked"))??;
    // the replay waits for quiet input before publishing: that wait is not processing
    let idle = 1.5;
    Ok((
        publish_seconds,
        (finished_at - started).as_secs_f64() - idle,
        last_count,
    ))
}

fn latency(
    brokers: &str,
    topics: &Topics,
    rate: f64,
    duration: Duration,
    cancel: &CancellationToken,
) -> anyhow::Result<(f64, f64, usize, usize)> {
    let stats = Arc::new(ProcessStats::default());
    let stop = cancel.child_token();
    let config = ProcessConfig {
        brokers: brokers.to_string(),
        topics: topics.clone(),
        group: "latency".into(),
        retention: Duration::from_secs(30 * 86_400),
        idle: Duration::from_millis(1500),
    };
    let worker = std::thread::spawn({
        let stats = stats.clone();
        let stop = stop.clone();
        move || runner::run(&config, &stats, &stop)
    });
    // the observer: every status record with its arrival time, decoded afterwards
    let observer = std::thread::spawn({
        let brokers = brokers.to_string();
        let topic = topics.status();
        let stop = stop.clone();
        move || -> anyhow::Result<Vec<(Instant, Vec<u8>)>> {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            use rdkafka::Message;
            let consumer: BaseConsumer = kouan_bus::config::consumer(
                &brokers,
                &format!("latency-observer-{}", std::process::id()),
            )
            .create()?;
            let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
            let partitions = metadata
                .topics()
                .first()
                .map_or(0, |t| t.partitions().len());
            let mut assignment = rdkafka::TopicPartitionList::new();
            for partition in 0..partitions as i32 {
                assignment.add_partition_offset(&topic, partition, rdkafka::Offset::Beginning)?;
            }
            consumer.assign(&assignment)?;
            let mut seen = Vec::new();
            while !stop.is_cancelled() {
                if let Some(Ok(message)) = consumer.poll(Duration::from_millis(10)) {
                    seen.push((
                        Instant::now(),
                        message.payload().unwrap_or_default().to_vec(),
                    ));
                }
            }
            Ok(seen)
        }
    });
    // wait until the processor is live (it replays the empty topics first) and owns buckets
    let ready = Instant::now();
    while !stats.live.load(Ordering::Relaxed) || ready.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(50));
        anyhow::ensure!(
            ready.elapsed() < Duration::from_secs(60),
            "the processor did not go live"
        );
    }
    let count = (rate * duration.as_secs_f64()) as usize;
    // a tidy stream: late links and reordering would measure the data's lateness, not ours
    let events = simulated_with(
        count,
        SimConfig {
            seed: 2,
            ..SimConfig::default()
        }
        .tidy(),
    );
    let publisher = Publisher::new(brokers)?;
    let sink = kouan_emitter::sink::EventSink::new(&publisher, topics);
    let mut published_at: HashMap<(String, String), Instant> = HashMap::with_capacity(events.len());
    let started = Instant::now();
    for (index, event) in events.iter().enumerate() {
        let due = Duration::from_secs_f64(index as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        sink.publish(event)?;
        published_at
            .entry((event.source.clone(), event.event_id.clone()))
            .or_insert_with(Instant::now);
    }
    publisher.flush(Duration::from_secs(60))?;
    std::thread::sleep(Duration::from_secs(5));
    stop.cancel();
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("processor panicked"))??;
    let seen = observer
        .join()
        .map_err(|_| anyhow::anyhow!("observer panicked"))??;
    // each record change is triggered by the latest-published of its milestones
    let mut latencies: Vec<f64> = Vec::with_capacity(seen.len());
    for (at, payload) in seen {
        let Ok(record) = pb::ShipmentStatus::decode(payload.as_slice()) else {
            continue;
        };
        let trigger = record
            .milestones
            .into_iter()
            .filter_map(|milestone| {
                published_at
                    .get(&(milestone.source, milestone.event_id))
                    .copied()
            })
            .max();
        if let Some(trigger) = trigger {
            latencies.push(at.saturating_duration_since(trigger).as_secs_f64() * 1000.0);
        }
    }
    anyhow::ensure!(!latencies.is_empty(), "no event reached a status record");
    latencies.sort_by(f64::total_cmp);
    let quantile =
        |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok((
        quantile(0.5),
        quantile(0.99),
        latencies.len(),
        published_at.len(),
    ))
}
