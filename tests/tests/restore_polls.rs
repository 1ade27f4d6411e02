//! A restore longer than `max.poll.interval.ms` does not get the member evicted: the shipment
//! stage polls its group (its partitions paused) while it reads the by-shipment table and
//! `kouan.status`, so the group keeps it, and the restore completes once, where it used to be
//! evicted, rejoin, restore again and again.
//!
//! The broker's `group.min.session.timeout.ms` is 1 s (`scripts/kafka`), so the test can lower
//! the member's session timeout and poll interval (`KOUAN_SESSION_TIMEOUT_MS`,
//! `KOUAN_MAX_POLL_INTERVAL_MS`) below what the restore of this history takes.

use kouan_bus::Topics;
use kouan_e2e::*;
use std::time::Duration;

const POLL_INTERVAL_MS: &str = "1000";

#[test]
fn a_restore_longer_than_the_poll_interval_keeps_the_group_and_completes_once() {
    let namespace = unique_namespace("restore-polls");
    let topics = Topics::new(&namespace);
    let out = std::env::temp_dir().join(format!("{namespace}.ndjson"));
    let simulated = kouan(&namespace)
        .args([
            "simulate",
            "--rate",
            "120000",
            "--duration",
            "1s",
            "--seed",
            "38",
        ])
        .args(["--malformed", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        simulated.status.success(),
        "{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let _ = std::fs::remove_file(&out);
    ingest_lines(&namespace, &lines);
    let expected = expected_statuses(&read_events(&brokers(), &topics));
    let args = [
        "process",
        "--brokers",
        &brokers(),
        "--group",
        "restore-polls",
    ];

    // the history routed and derived once
    let first = Service::start(&namespace, &args);
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected,
        Duration::from_secs(240),
    );
    first.kill_hard();

    // restored from the topics by a member the group evicts if it does not poll for 1 s
    let second = Service::start_with_env(
        &namespace,
        &args,
        &[
            ("KOUAN_SESSION_TIMEOUT_MS", "1000"),
            ("KOUAN_MAX_POLL_INTERVAL_MS", POLL_INTERVAL_MS),
        ],
    );
    second.await_log("restored, processing", Duration::from_secs(240));
    let line = second.last_log_line("partitions restored").unwrap();
    let logged: serde_json::Value = serde_json::from_str(&line).unwrap();
    let seconds = logged["fields"]["seconds"].as_f64().unwrap();
    let poll_interval = POLL_INTERVAL_MS.parse::<f64>().unwrap() / 1000.0;
    assert!(
        seconds > 2.0 * poll_interval,
        "the restore took {seconds} s: not long enough to show anything ({line})"
    );
    assert!(logged["fields"]["records"].as_u64().unwrap() > 0, "{line}");
    // it processes on: a new booking's status comes out (by then the group has told the member
    // anything it decided while the restore ran)
    ingest_lines(
        &namespace,
        &[r#"{"eventId":"RP-1","source":"restore-polls","eventTime":"2026-11-20T08:00:00+08:00","shipment":{"type":"BOOKED","shipmentId":"ZZHH2611209999","documentType":"RAIL_WAYBILL","shipper":"henan-elec","mode":"RAIL","direction":"EXPORT","origin":"CNZZP","destination":"DEHAM","units":[]}}"#.to_string()],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !latest_statuses(&brokers(), &topics.status()).contains_key("ZZHH2611209999") {
        assert!(
            std::time::Instant::now() < deadline,
            "the new booking's status never came"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // the stage's group never took its partitions back, and it restored once
    assert_eq!(second.log_lines("partitions restored"), 1);
    assert_eq!(second.log_lines("Revoked"), 0);
    assert_eq!(second.log_lines("assignment lost"), 0);
    drop(second);
}
