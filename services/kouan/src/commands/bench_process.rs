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
use kouan_processor::runner::{self, ProcessConfig};
use kouan_processor::stats::ProcessStats;
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
    let say = |line: String| println!("{line}");
    let mut report: std::collections::BTreeMap<&str, f64> = Default::default();

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
    report.insert("events_per_cpu_second", cpu_rate);
    report.insert("bytes_per_active_shipment", heap_per_shipment);

    // end to end through the broker
    let namespace = format!(
        "{}-bench-process-{}",
        topics.namespace(),
        std::process::id()
    );
    let bench_topics = Topics::new(&namespace);
    kouan_bus::topics::ensure_topics(&args.brokers.brokers, &bench_topics).await?;
    let brokers = args.brokers.brokers.clone();
    let measured = tokio::task::spawn_blocking({
        let topics = bench_topics.clone();
        let cancel = cancel.clone();
        move || end_to_end(&brokers, &topics, &events, &cancel)
    })
    .await??;
    let count = args.events as f64;
    say(format!(
        "bench process: end to end {count:.0} events: published in {:.2} s ({:.0}/s); first pass (route, apply, publish {} status records) {:.2} s ({:.0} events/s)",
        measured.publish_seconds,
        count / measured.publish_seconds,
        measured.published,
        measured.first_pass_seconds,
        count / measured.first_pass_seconds,
    ));
    say(format!(
        "bench process: restart of the same history to caught up: {:.2} s = {:.1}% of the first pass",
        measured.restart_seconds,
        100.0 * measured.restart_seconds / measured.first_pass_seconds
    ));
    let share =
        measured.held_pair.0.max(measured.held_pair.1) as f64 / measured.held_single.max(1) as f64;
    say(format!(
        "bench process: state held: one instance {} event versions; two instances {} and {} (the larger is {:.0}% of one)",
        measured.held_single,
        measured.held_pair.0,
        measured.held_pair.1,
        100.0 * share
    ));
    report.insert(
        "end_to_end_events_per_second",
        count / measured.first_pass_seconds,
    );
    report.insert("first_pass_seconds", measured.first_pass_seconds);
    report.insert("restart_seconds", measured.restart_seconds);
    report.insert("state_share_of_two_instances", share);

    // latency at a steady rate
    let namespace = format!(
        "{}-bench-latency-{}",
        topics.namespace(),
        std::process::id()
    );
    let latency_topics = Topics::new(&namespace);
    kouan_bus::topics::ensure_topics(&args.brokers.brokers, &latency_topics).await?;
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

    report.insert("latency_rate_events_per_second", args.rate);
    report.insert("latency_p50_ms", p50);
    report.insert("latency_p99_ms", p99);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
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

/// What the end-to-end runs measured.
struct EndToEnd {
    publish_seconds: f64,
    /// First pass: every event read, routed, applied and published.
    first_pass_seconds: f64,
    published: u64,
    /// A new instance restores the live state and catches up (no new input).
    restart_seconds: f64,
    /// Event versions held by one instance, and by each of two in one group.
    held_single: u64,
    held_pair: (u64, u64),
}

/// A runner on its own thread, stopped when dropped.
struct Running {
    stats: Arc<ProcessStats>,
    stop: CancellationToken,
    worker: Option<std::thread::JoinHandle<Result<(), kouan_processor::runner::ProcessError>>>,
}

impl Running {
    fn start(config: &ProcessConfig, cancel: &CancellationToken) -> Self {
        let stats = Arc::new(ProcessStats::default());
        let stop = cancel.child_token();
        let worker = std::thread::spawn({
            let (config, stats, stop) = (config.clone(), stats.clone(), stop.clone());
            move || runner::run(&config, &stats, &stop)
        });
        Running {
            stats,
            stop,
            worker: Some(worker),
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.worker.as_ref().is_some_and(|w| w.is_finished()),
            "the processor stopped early"
        );
        Ok(())
    }

    /// Caught up: owns `partitions` partitions, has read everything, has nothing to publish.
    fn caught_up(&self, partitions: u64) -> bool {
        self.stats.live.load(Ordering::Relaxed)
            && self.stats.owned.load(Ordering::Relaxed) == partitions
            && self.stats.quiet.load(Ordering::Relaxed)
            && self.stats.router_quiet.load(Ordering::Relaxed)
    }

    fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        if let Some(worker) = self.worker.take() {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("processor panicked"))??;
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits until `done` holds for 1 s on end; returns when it first held.
fn wait_until(
    what: &str,
    running: &[&Running],
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<Instant> {
    let started = Instant::now();
    let mut since: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_millis(10));
        for runner in running {
            runner.check()?;
        }
        match (done(), since) {
            (true, None) => since = Some(Instant::now()),
            (true, Some(at)) if at.elapsed() >= Duration::from_secs(1) => return Ok(at),
            (false, _) => since = None,
            _ => {}
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "{what} did not finish in 15 minutes"
        );
    }
}

fn end_to_end(
    brokers: &str,
    topics: &Topics,
    events: &[Event],
    cancel: &CancellationToken,
) -> anyhow::Result<EndToEnd> {
    let publisher = Publisher::new(brokers)?;
    let sink = kouan_emitter::sink::EventSink::new(&publisher, topics);
    let started = Instant::now();
    for event in events {
        sink.publish(event)?;
    }
    publisher.flush(Duration::from_secs(300))?;
    let publish_seconds = started.elapsed().as_secs_f64();
    let partitions = kouan_bus::topics::describe(brokers, &topics.by_shipment())?
        .map_or(0, |(partitions, _)| partitions as u64);

    let config = ProcessConfig {
        brokers: brokers.to_string(),
        topics: topics.clone(),
        group: "bench".into(),
        retention: Duration::from_secs(30 * 86_400),
    };
    // first pass: done when every event is routed and the instance is caught up
    let started = Instant::now();
    let first = Running::start(&config, cancel);
    let done = wait_until("the first pass", &[&first], || {
        first.stats.events.load(Ordering::Relaxed) as usize >= events.len()
            && first.caught_up(partitions)
    })?;
    let first_pass_seconds = (done - started).as_secs_f64();
    let published = first.stats.published.load(Ordering::Relaxed);
    let held_single = first.stats.held.load(Ordering::Relaxed);
    first.stop()?;

    // restart: a new instance restores the live state and catches up
    let started = Instant::now();
    let restarted = Running::start(&config, cancel);
    let done = wait_until("the restart", &[&restarted], || {
        restarted.caught_up(partitions)
    })?;
    let restart_seconds = (done - started).as_secs_f64();

    // scale-out: a second instance joins; each holds its partitions and the shared table
    let second = Running::start(&config, cancel);
    wait_until("the split", &[&restarted, &second], || {
        let (a, b) = (
            restarted.stats.owned.load(Ordering::Relaxed),
            second.stats.owned.load(Ordering::Relaxed),
        );
        a > 0 && b > 0 && a + b == partitions && restarted.caught_up(a) && second.caught_up(b)
    })?;
    let held_pair = (
        restarted.stats.held.load(Ordering::Relaxed),
        second.stats.held.load(Ordering::Relaxed),
    );
    restarted.stop()?;
    second.stop()?;
    Ok(EndToEnd {
        publish_seconds,
        first_pass_seconds,
        published,
        restart_seconds,
        held_single,
        held_pair,
    })
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
