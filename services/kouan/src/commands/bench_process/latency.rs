//! Publication-to-status latency at a steady rate, with the runner live.

use kouan_bus::{Publisher, Topics};
use kouan_emitter::simulator::{SimConfig, Simulator};
use kouan_model::pb;
use kouan_processor::runner::{self, ProcessConfig};
use kouan_processor::stats::ProcessStats;
use prost::Message as _;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What one steady-rate run measured (milliseconds). A status change's path is split at the
/// moment the shipment stage produced it (the record's Kafka timestamp, set by its producer):
/// before it, the event's publication, the router's cycle and transaction and the stage's cycle;
/// after it, the rest of the stage's cycle, its transaction commit and the observer's fetch.
pub(super) struct Latency {
    pub p50: f64,
    pub p99: f64,
    /// Publication to the status record handed to the stage's producer.
    pub produced_p50: f64,
    pub produced_p99: f64,
    /// The status record handed to the producer to its arrival at a read_committed reader.
    pub committed_p50: f64,
    pub committed_p99: f64,
    /// Mean time to commit a transaction, the router's and the shipment stage's.
    pub router_commit_mean: f64,
    pub stage_commit_mean: f64,
    /// The share of transactions whose commit took over 100 ms, the router's and the stage's:
    /// the commits that make the tail.
    pub router_commits_over_100ms: f64,
    pub stage_commits_over_100ms: f64,
    /// Status changes measured, and events published.
    pub measured: usize,
    pub sent: usize,
}

/// The value at quantile `q` of `values`, sorted in place.
fn quantile_of(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * q) as usize).min(values.len() - 1)]
}

fn mean_millis(histogram: &kouan_processor::stats::LatencyHistogram) -> f64 {
    let (sum, count, _) = histogram.snapshot();
    1000.0 * sum / count.max(1) as f64
}

/// The share of a histogram's observations above `bound` seconds (one of its bucket bounds).
fn share_over(histogram: &kouan_processor::stats::LatencyHistogram, bound: f64) -> f64 {
    let (_, count, buckets) = histogram.snapshot();
    let within = buckets
        .iter()
        .find(|(upper, _)| *upper >= bound)
        .map_or(count, |(_, cumulative)| *cumulative);
    (count - within) as f64 / count.max(1) as f64
}

/// Unix milliseconds, fractional: comparable with the Kafka timestamps of the status records.
fn unix_millis_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64() * 1000.0)
}

pub(super) fn latency(
    brokers: &str,
    topics: &Topics,
    rate: f64,
    duration: Duration,
    cancel: &CancellationToken,
) -> anyhow::Result<Latency> {
    let stats = Arc::new(ProcessStats::default());
    let stop = cancel.child_token();
    let config = ProcessConfig {
        brokers: brokers.to_string(),
        topics: topics.clone(),
        group: "latency".into(),
        retention: Duration::from_secs(30 * 86_400),
        // nothing outlives the embedded broker (up) or the measured run (latency)
        state_dir: None,
        checkpoint_every: kouan_processor::runner::DEFAULT_CHECKPOINT_EVERY,
    };
    let worker = std::thread::spawn({
        let stats = stats.clone();
        let stop = stop.clone();
        move || runner::run(&config, &stats, &stop)
    });
    // the observer: every status record with its arrival time (monotonic and Unix) and its Kafka
    // timestamp, decoded afterwards
    let observer = std::thread::spawn({
        let brokers = brokers.to_string();
        let topic = topics.status();
        let stop = stop.clone();
        move || -> anyhow::Result<Vec<Arrival>> {
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
                    seen.push(Arrival {
                        at: Instant::now(),
                        unix_millis: unix_millis_now(),
                        produced_millis: message.timestamp().to_millis(),
                        payload: message.payload().unwrap_or_default().to_vec(),
                    });
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
    let events = Simulator::new(
        SimConfig {
            seed: 2,
            ..SimConfig::default()
        }
        .tidy(),
    )
    .events(count);
    let publisher = Publisher::new(brokers)?;
    let sink = kouan_emitter::sink::EventSink::new(&publisher, topics);
    let mut published_at: HashMap<(String, String), (Instant, f64)> =
        HashMap::with_capacity(events.len());
    let started = Instant::now();
    for (index, event) in events.iter().enumerate() {
        let due = Duration::from_secs_f64(index as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        sink.publish(event)?;
        published_at
            .entry((event.source.to_string(), event.event_id.to_string()))
            .or_insert_with(|| (Instant::now(), unix_millis_now()));
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
    let (mut to_produced, mut to_committed) = (Vec::new(), Vec::new());
    for arrival in seen {
        let Ok(record) = pb::ShipmentStatus::decode(arrival.payload.as_slice()) else {
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
            .max_by_key(|(at, _)| *at);
        if let Some((trigger, trigger_unix_millis)) = trigger {
            latencies.push(arrival.at.saturating_duration_since(trigger).as_secs_f64() * 1000.0);
            if let Some(produced) = arrival.produced_millis {
                to_produced.push((produced as f64 - trigger_unix_millis).max(0.0));
                to_committed.push((arrival.unix_millis - produced as f64).max(0.0));
            }
        }
    }
    anyhow::ensure!(!latencies.is_empty(), "no event reached a status record");
    anyhow::ensure!(
        !to_produced.is_empty(),
        "no status record carried its Kafka timestamp"
    );
    Ok(Latency {
        p50: quantile_of(&mut latencies, 0.5),
        p99: quantile_of(&mut latencies, 0.99),
        produced_p50: quantile_of(&mut to_produced, 0.5),
        produced_p99: quantile_of(&mut to_produced, 0.99),
        committed_p50: quantile_of(&mut to_committed, 0.5),
        committed_p99: quantile_of(&mut to_committed, 0.99),
        router_commit_mean: mean_millis(&stats.router_commit),
        stage_commit_mean: mean_millis(&stats.stage_commit),
        router_commits_over_100ms: share_over(&stats.router_commit, 0.1),
        stage_commits_over_100ms: share_over(&stats.stage_commit, 0.1),
        measured: latencies.len(),
        sent: published_at.len(),
    })
}

/// A status record as the observer received it.
struct Arrival {
    at: Instant,
    unix_millis: f64,
    /// Its Kafka timestamp: when the stage's producer was handed it.
    produced_millis: Option<i64>,
    payload: Vec<u8>,
}
