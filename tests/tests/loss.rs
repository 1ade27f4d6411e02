//! Loss is never silent: a processor that comes back after retention deleted events it had not
//! routed yet says so — an error log line per partition naming the offsets it missed, and
//! `kouan_processor_events_lost_total` counting them, a notice on the dead-letter topic that the
//! dashboard counts — instead of resuming at the earliest record
//! still there without a word.

use kouan_bus::Topics;
use kouan_e2e::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::time::Duration;

/// Every event record ever written to the event topics: the sum of their high watermarks.
fn written(topics: &Topics) -> i64 {
    let consumer: BaseConsumer =
        kouan_bus::config::consumer(&brokers(), &unique_namespace("marks"))
            .create()
            .unwrap();
    let mut total = 0;
    for kind in kouan_model::BodyKind::ALL {
        let topic = topics.events(kind);
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        for partition in 0..metadata.topics()[0].partitions().len() as i32 {
            total += consumer
                .fetch_watermarks(&topic, partition, Duration::from_secs(10))
                .unwrap()
                .1;
        }
    }
    total
}

fn lines(namespace: &str, seed: &str, count: &str) -> Vec<String> {
    let out = std::env::temp_dir().join(format!("{namespace}-{seed}.ndjson"));
    let status = kouan(namespace)
        .args([
            "simulate",
            "--rate",
            count,
            "--duration",
            "1s",
            "--seed",
            seed,
        ])
        .args(["--malformed", "0"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    text.lines().map(String::from).collect()
}

#[test]
fn events_deleted_before_they_were_routed_are_logged_and_counted() {
    let namespace = unique_namespace("loss");
    let topics = Topics::new(&namespace);
    let all = lines(&namespace, "31", "6000");
    let (first, second) = all.split_at(all.len() / 2);
    ingest_lines(&namespace, first);
    let metrics = format!("127.0.0.1:{}", free_port());
    let args = [
        "process",
        "--brokers",
        &brokers(),
        "--group",
        "loss",
        "--metrics-listen",
        &metrics,
    ];
    let before = Service::start(&namespace, &args);
    let routed = written(&topics);
    // everything of the first half routed and committed: its statuses are out
    let events: Vec<kouan_model::Event> = read_events(&brokers(), &topics);
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events),
        Duration::from_secs(120),
    );
    before.kill_hard();

    // while it is down: the second half comes, and retention deletes every event record
    ingest_lines(&namespace, second);
    let unread = written(&topics) - routed;
    assert!(
        unread > 100,
        "only {unread} records written while the processor was down"
    );
    delete_all_events(&brokers(), &topics);

    let after = Service::start(&namespace, &args);
    after.await_log("events lost to retention", Duration::from_secs(60));
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let lost = |text: &str| -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with("kouan_processor_events_lost_total "))
            .map(|line| line.rsplit(' ').next().unwrap().parse().unwrap())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = reqwest::blocking::get(format!("http://{metrics}/metrics"))
            .and_then(|response| response.text())
            .unwrap_or_default();
        if lost(&text) == Some(unread as f64) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lost {:?}, expected {unread}: {text}",
            lost(&text)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // and said on the dead-letter topic, where the dashboard counts it: one notice per partition
    let notices: Vec<Record> = read_topic(
        &brokers(),
        &topics.deadletter(),
        1,
        Duration::from_secs(2),
        Duration::from_secs(60),
    )
    .into_iter()
    .filter(|record| {
        record
            .header("kouan-reject-reason")
            .is_some_and(|reason| reason.starts_with("lost: offsets"))
    })
    .collect();
    let noticed: i64 = notices
        .iter()
        .map(|record| {
            record
                .header("kouan-lost-records")
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(noticed, unread, "{notices:?}");
    let line = after.last_log_line("events lost to retention").unwrap();
    assert!(
        line.contains("ERROR") && line.contains("first_missed") && line.contains(".events."),
        "{line}"
    );
}
