//! `kouan process` restarting on the real broker: a new owner restores only once every
//! transaction open on its partitions has ended, and a restart from the local checkpoint reads
//! only what came after it and stays exact.

use kouan_bus::Topics;
use kouan_e2e::*;
use std::time::Duration;

const CONVERGENCE: Duration = Duration::from_secs(180);

/// A new owner restores what its predecessor published only once every transaction open on the
/// status partitions has ended: a `read_committed` reader alone ends before the records of a
/// transaction whose commit markers are still being written, and the versions it learned short
/// would be published twice.
#[test]
fn a_restore_waits_for_the_transactions_open_on_its_partitions() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let namespace = unique_namespace("settle");
    let topic = Topics::new(&namespace).status();
    futures::executor::block_on(kouan_bus::topics::create_topics(
        &brokers(),
        &Topics::new(&namespace).public_specs(Duration::from_secs(3600)),
        1,
        1,
    ))
    .unwrap();
    let producer: BaseProducer = kouan_bus::config::producer(&brokers())
        .set("transactional.id", &namespace)
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    producer.init_transactions(Duration::from_secs(30)).unwrap();
    producer.begin_transaction().unwrap();
    producer
        .send(BaseRecord::to(&topic).partition(0).key("k").payload("v1"))
        .map_err(|(error, _)| error)
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();

    // the premise: a read_committed client's end stops before the open transaction
    let end = |isolation: &str| {
        let client: BaseConsumer = kouan_bus::config::consumer(&brokers(), &namespace)
            .set("isolation.level", isolation)
            .create()
            .unwrap();
        client
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap()
            .1
    };
    assert_eq!(end("read_uncommitted"), 1);
    assert_eq!(end("read_committed"), 0);

    let cancel = tokio_util::sync::CancellationToken::new();
    let (settled, heard) = std::sync::mpsc::channel();
    let waiter = {
        let (topic, cancel) = (topic.clone(), cancel.clone());
        std::thread::spawn(move || {
            let result =
                kouan_bus::settled::await_settled(&brokers(), "settle", &topic, &[0], &cancel);
            settled.send(result.is_ok()).unwrap();
        })
    };
    assert!(
        heard.recv_timeout(Duration::from_secs(1)).is_err(),
        "the wait ended while a transaction was open"
    );
    producer
        .commit_transaction(Duration::from_secs(30))
        .unwrap();
    assert!(heard.recv_timeout(Duration::from_secs(30)).unwrap());
    waiter.join().unwrap();

    // and what a restore reads then holds the committed record
    let mut follower =
        kouan_bus::Follower::partitions_from_beginning(&brokers(), "settle", &topic, &[0], &cancel)
            .unwrap();
    let mut read = Vec::new();
    follower
        .catch_up(&cancel, |message| {
            read.push(rdkafka::Message::payload(message).unwrap().to_vec())
        })
        .unwrap();
    assert_eq!(read, vec![b"v1".to_vec()]);
}

/// A number field of an instance's latest log line containing `needle`.
fn logged_number(service: &Service, needle: &str, field: &str) -> u64 {
    let line = service
        .last_log_line(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in the log"));
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    value["fields"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {field} in {line}"))
}

#[test]
fn a_restart_from_its_checkpoint_reads_only_what_came_after_and_stays_exact() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let namespace = unique_namespace("checkpoint");
    let topics = Topics::new(&namespace);
    let dir = std::env::temp_dir().join(format!("{namespace}-state"));
    let state_dir = dir.to_str().unwrap().to_string();
    let broker_list = brokers();
    let metrics = format!("127.0.0.1:{}", free_port());
    let with_state_and = |every: &str, extra: &[&str]| {
        let mut args = vec![
            "process",
            "--brokers",
            &broker_list,
            "--group",
            "checkpoint",
            "--state-dir",
            &state_dir,
            "--checkpoint-every",
            every,
        ];
        args.extend_from_slice(extra);
        Service::start(&namespace, &args)
    };
    let with_state = |every: &str| with_state_and(every, &[]);
    let lines = simulated_lines(&namespace, 31, 16_000);
    let (first, second) = lines.split_at(lines.len() / 2);
    ingest_lines(&namespace, first);
    let mut before = with_state("5min");
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events_of(first)),
        CONVERGENCE,
    );
    // a clean stop leaves the checkpoint, then retention deletes every event record under it
    before.terminate();
    before.await_log("processor checkpoint written", Duration::from_secs(5));
    let checkpoint = dir.join("process.checkpoint");
    assert!(checkpoint.exists(), "no checkpoint in {}", dir.display());
    let stale = dir.join("first.checkpoint");
    std::fs::copy(&checkpoint, &stale).unwrap();
    delete_all_events(&brokers(), &topics);
    let published_before = status_history(&brokers(), &topics.status())
        .values()
        .map(Vec::len)
        .sum::<usize>();

    // the restart reads nothing from the internal topics and derives nothing: nothing came after
    let restarted = with_state_and("1s", &["--metrics-listen", &metrics]);
    restarted.await_log("restored, processing", CONVERGENCE);
    let shared = restarted.last_log_line("shared table restored").unwrap();
    assert!(shared.contains("\"from_checkpoint\":true"), "{shared}");
    assert_eq!(
        logged_number(&restarted, "shared table restored", "records"),
        0
    );
    let partitions = restarted.last_log_line("partitions restored").unwrap();
    assert!(
        partitions.contains("\"from_checkpoint\":\"{0, 1, 2, 3}\""),
        "every partition resumed from the checkpoint: {partitions}"
    );
    assert_eq!(
        logged_number(&restarted, "partitions restored", "records"),
        0
    );
    assert_eq!(
        logged_number(&restarted, "partitions restored", "affected"),
        0
    );

    // it goes on exactly: the rest of the stream gives the reference over the whole of it
    ingest_lines(&namespace, second);
    let expected = expected_statuses(&events_of(&lines));
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    let published_after = status_history(&brokers(), &topics.status())
        .values()
        .map(Vec::len)
        .sum::<usize>();
    assert!(published_after > published_before);

    // its periodic checkpoint, taken while it runs, is what a kill -9 leaves to the next start
    let modified = || std::fs::metadata(&checkpoint).unwrap().modified().unwrap();
    let converged_at = modified();
    let waited = std::time::Instant::now();
    while modified() == converged_at {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "no periodic checkpoint"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // what it holds on local disk is a metric: the checkpoint's bytes, and the scratch files'
    let local = |file: &str| -> Option<u64> {
        let text = reqwest::blocking::get(format!("http://{metrics}/metrics"))
            .and_then(|response| response.text())
            .ok()?;
        let prefix = format!("kouan_processor_local_bytes{{file=\"{file}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse().ok())
    };
    while local("checkpoint").unwrap_or(0) == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the checkpoint's bytes never showed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let shown = local("checkpoint").unwrap();
    let on_disk = std::fs::metadata(&checkpoint).unwrap().len();
    assert!(
        shown > on_disk / 2 && shown < on_disk * 2,
        "{shown} bytes shown, {on_disk} on disk"
    );
    assert!(local("park").is_some() && local("spill").is_some());
    restarted.kill_hard();
    let mut periodic = with_state("5min");
    periodic.await_log("restored, processing", CONVERGENCE);
    let shared = periodic.last_log_line("shared table restored").unwrap();
    assert!(shared.contains("\"from_checkpoint\":true"), "{shared}");
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert_versions_increase(&brokers(), &topics.status());
    periodic.terminate();

    // an older checkpoint (the first instance's) is as good: the next instance loads it and reads
    // everything after it — the shared table's and the partitions' tails, and the statuses
    // published since (so no version is published twice)
    std::fs::copy(&stale, &checkpoint).unwrap();
    let mut resumed = with_state("5min");
    resumed.await_log("restored, processing", CONVERGENCE);
    let tail = logged_number(&resumed, "partitions restored", "records");
    assert!(
        tail > 0,
        "the by-shipment records since the checkpoint are read"
    );
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert_versions_increase(&brokers(), &topics.status());
    resumed.terminate();

    // a damaged checkpoint is refused, and the state restored from the topics is the same
    let mut bytes = std::fs::read(&checkpoint).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&checkpoint, bytes).unwrap();
    let refused = with_state("5min");
    refused.await_log("processor checkpoint refused", CONVERGENCE);
    refused.await_log("restored, processing", CONVERGENCE);
    let shared = refused.last_log_line("shared table restored").unwrap();
    assert!(shared.contains("\"from_checkpoint\":false"), "{shared}");
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert_versions_increase(&brokers(), &topics.status());
    drop(refused);
    let _ = std::fs::remove_dir_all(&dir);
}
