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

pub(super) fn latency(
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
        // nothing outlives the embedded broker (up) or the measured run (latency)
        state_dir: None,
        checkpoint_every: kouan_processor::runner::DEFAULT_CHECKPOINT_EVERY,
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
    let mut published_at: HashMap<(String, String), Instant> = HashMap::with_capacity(events.len());
    let started = Instant::now();
    for (index, event) in events.iter().enumerate() {
        let due = Duration::from_secs_f64(index as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        sink.publish(event)?;
        published_at
            .entry((event.source.to_string(), event.event_id.to_string()))
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
