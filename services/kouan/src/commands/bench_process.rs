//! `kouan bench process`: the processor's numbers (issue targets in parentheses).
//!
//! 1. Events per CPU-second of the processor alone (≥ 250,000): simulated events as protobuf
//!    records, decoded, applied, affected records derived, compared and encoded — the runner's
//!    work without Kafka — on one thread, CPU time from `/proc/thread-self/stat`.
//! 2. Bytes per active shipment (≤ 2 KiB): the live heap (bytes allocated less bytes freed) of a
//!    second pass over the same records divided by the shipments held at its end (retention
//!    applied as in the runner), and the first pass's resident-set growth likewise. Only that
//!    second pass counts the heap: the count costs every allocation an atomic add.
//! 3. End to end through the broker: publish the events, then `kouan process`'s runner replays
//!    them and publishes every record; events/s for each half and for the whole.
//! 4. Publication-to-status latency at a steady rate (p99 ≤ 500 ms at 20,000 events/s): the
//!    runner is live, a tidy simulated stream is published at the rate, and each status change
//!    observed on `kouan.status` counts from the publication of the event that triggered it (the
//!    latest-published of its milestones) to its arrival at the observer.

mod core;
mod end_to_end;
mod latency;

use crate::cli::BenchProcessArgs;
use core::{core_run, simulated};
use end_to_end::end_to_end;
use kouan_bus::Topics;
use kouan_model::protobuf;
use latency::latency;
use tokio_util::sync::CancellationToken;

pub async fn run(
    args: BenchProcessArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    let say = |line: String| println!("{line}");
    let mut report: std::collections::BTreeMap<String, f64> = Default::default();

    let broker_before = args
        .broker_pid
        .and_then(|pid| Some((pid, process_cpu_seconds(pid)?)));
    let events = tokio::task::spawn_blocking({
        let count = args.events as usize;
        move || simulated(count, 1)
    })
    .await?;
    let core = tokio::task::spawn_blocking({
        let events: Vec<Vec<u8>> = events.iter().map(protobuf::encode_event).collect();
        move || core_run(&events)
    })
    .await?;
    say(format!(
        "bench process: core {} events at {:.0} events per CPU-second (decode, join, derive, encode); a second pass, on memory the allocator already holds and with the live heap counted: {:.0}",
        events.len(),
        core.events_per_cpu_second,
        core.counted_events_per_cpu_second,
    ));
    say(format!(
        "bench process: {:.0} resident bytes ({:.0} live heap bytes) per active shipment ({} shipments held, {} of them finished and parked on local disk)",
        core.resident_per_shipment, core.heap_per_shipment, core.shipments, core.parked
    ));
    report.insert("events_per_cpu_second".into(), core.events_per_cpu_second);
    report.insert(
        "events_per_cpu_second_second_pass".into(),
        core.counted_events_per_cpu_second,
    );
    report.insert("bytes_per_active_shipment".into(), core.heap_per_shipment);
    report.insert("shipments_parked".into(), core.parked as f64);

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
        "bench process: restart of the same history to caught up, from the checkpoint ({:.1} MiB): {:.2} s = {:.1}% of the first pass",
        measured.checkpoint_bytes as f64 / 1_048_576.0,
        measured.restart_seconds,
        100.0 * measured.restart_seconds / measured.first_pass_seconds
    ));
    say(format!(
        "bench process: the same restored from the topics alone (no state directory): {:.2} s = {:.1}% of the first pass",
        measured.restore_from_topics_seconds,
        100.0 * measured.restore_from_topics_seconds / measured.first_pass_seconds
    ));
    let share =
        measured.held_pair.0.max(measured.held_pair.1) as f64 / measured.held_single.max(1) as f64;
    say(format!(
        "bench process: state held in memory: one instance {} event versions; two instances {} and {} (the larger is {:.0}% of one); spilled to local disk: {} / {} and {}",
        measured.held_single,
        measured.held_pair.0,
        measured.held_pair.1,
        100.0 * share,
        measured.spilled_single,
        measured.spilled_pair.0,
        measured.spilled_pair.1,
    ));
    report.insert(
        "end_to_end_events_per_second".into(),
        count / measured.first_pass_seconds,
    );
    report.insert("first_pass_seconds".into(), measured.first_pass_seconds);
    report.insert("restart_seconds".into(), measured.restart_seconds);
    report.insert(
        "restore_from_topics_seconds".into(),
        measured.restore_from_topics_seconds,
    );
    report.insert("checkpoint_bytes".into(), measured.checkpoint_bytes as f64);
    report.insert("state_share_of_two_instances".into(), share);
    report.insert(
        "events_spilled_one_instance".into(),
        measured.spilled_single as f64,
    );
    report.insert(
        "events_spilled_two_instances_max".into(),
        measured.spilled_pair.0.max(measured.spilled_pair.1) as f64,
    );

    // latency at steady rates, each on topics of its own
    for rate in args.rates.iter().copied() {
        let namespace = format!(
            "{}-bench-latency-{}-{rate:.0}",
            topics.namespace(),
            std::process::id()
        );
        let latency_topics = Topics::new(&namespace);
        kouan_bus::topics::ensure_topics(&args.brokers.brokers, &latency_topics).await?;
        let brokers = args.brokers.brokers.clone();
        let measured = tokio::task::spawn_blocking({
            let duration = args.latency_duration;
            let cancel = cancel.clone();
            move || latency(&brokers, &latency_topics, rate, duration, &cancel)
        })
        .await??;
        say(format!(
            "bench process: latency at {rate:.0} events/s for {:?}: p50 {:.1} ms, p99 {:.1} ms over {} status changes ({} events)",
            args.latency_duration, measured.p50, measured.p99, measured.measured, measured.sent
        ));
        say(format!(
            "bench process: of which publication to the status record produced p50 {:.0} ms, p99 {:.0} ms; produced to read (commit, fetch) p50 {:.0} ms, p99 {:.0} ms; transactions committed in {:.0} ms (router) and {:.0} ms (shipment stage) on average, {:.1}% and {:.1}% of them in over 100 ms",
            measured.produced_p50, measured.produced_p99, measured.committed_p50, measured.committed_p99,
            measured.router_commit_mean, measured.stage_commit_mean,
            100.0 * measured.router_commits_over_100ms, 100.0 * measured.stage_commits_over_100ms
        ));
        let at = rate_name(rate);
        report.insert(
            format!("router_commit_mean_ms_at_{at}"),
            measured.router_commit_mean,
        );
        report.insert(
            format!("stage_commit_mean_ms_at_{at}"),
            measured.stage_commit_mean,
        );
        report.insert(
            format!("router_commits_over_100ms_at_{at}"),
            measured.router_commits_over_100ms,
        );
        report.insert(
            format!("stage_commits_over_100ms_at_{at}"),
            measured.stage_commits_over_100ms,
        );
        report.insert(format!("latency_p50_ms_at_{at}"), measured.p50);
        report.insert(format!("latency_p99_ms_at_{at}"), measured.p99);
        report.insert(
            format!("latency_to_produced_p50_ms_at_{at}"),
            measured.produced_p50,
        );
        report.insert(
            format!("latency_to_produced_p99_ms_at_{at}"),
            measured.produced_p99,
        );
        report.insert(
            format!("latency_produced_to_read_p50_ms_at_{at}"),
            measured.committed_p50,
        );
        report.insert(
            format!("latency_produced_to_read_p99_ms_at_{at}"),
            measured.committed_p99,
        );
    }
    if let Some((pid, before)) = broker_before {
        let seconds = process_cpu_seconds(pid).unwrap_or(before) - before;
        say(format!(
            "bench process: the broker (pid {pid}) used {seconds:.1} CPU seconds over the bench"
        ));
        report.insert("broker_cpu_seconds".into(), seconds);
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(0)
}

/// `5000` → `5k`, `20000` → `20k`, `1500` → `1500`: the report's key for a rate.
fn rate_name(rate: f64) -> String {
    if rate >= 1000.0 && rate % 1000.0 == 0.0 {
        format!("{:.0}k", rate / 1000.0)
    } else {
        format!("{rate:.0}")
    }
}

/// User and system CPU seconds of a process so far, from `/proc/PID/stat`.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    core::cpu_seconds_of(&format!("/proc/{pid}/stat"))
}
