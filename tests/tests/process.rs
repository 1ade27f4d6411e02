//! `kouan process` on the real broker: kill -9 of three instances at random moments while a
//! simulated stream flows; two instances splitting the work by the consumer group's assignment
//! and one dying for good; every event record deleted (as retention would) under a stopped
//! processor; a zombie paused past its session timeout — and in every case `kouan.status` ends up
//! equal to the reference, field by field, with versions that only ever increase.

use kouan_bus::headers::{REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::Topics;
use kouan_e2e::*;
use rand::Rng;
use std::process::Stdio;
use std::time::Duration;

const CONVERGENCE: Duration = Duration::from_secs(180);

/// The by-shipment partitions of a namespace created by the services (DEFAULT_PARTITIONS).
const PARTITIONS: u32 = 4;

fn processor(namespace: &str, group: &str) -> Service {
    Service::start(
        namespace,
        &["process", "--brokers", &brokers(), "--group", group],
    )
}

/// The by-shipment partitions an instance owns according to its latest ownership log line.
fn owned(service: &Service) -> Option<Vec<u32>> {
    let line = service.last_log_line("ownership changed")?;
    let value: serde_json::Value = serde_json::from_str(&line).ok()?;
    let owned = value["fields"]["owned"]
        .as_str()?
        .trim_matches(|c| c == '{' || c == '}')
        .to_string();
    Some(
        owned
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect(),
    )
}

/// A simulated stream as NDJSON lines (some deliberately malformed).
fn simulated_lines(namespace: &str, seed: u32, events: u32) -> Vec<String> {
    let file = std::env::temp_dir().join(format!("{namespace}-{seed}.ndjson"));
    let output = kouan(namespace)
        .args([
            "simulate",
            "--rate",
            &events.to_string(),
            "--duration",
            "1s",
        ])
        .args([
            "--seed",
            &seed.to_string(),
            "--shipments-per-day",
            "300",
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    text.lines().map(str::to_string).collect()
}

/// The valid events among NDJSON lines.
fn events_of(lines: &[String]) -> Vec<kouan_model::Event> {
    lines
        .iter()
        .filter_map(|line| kouan_model::ndjson::decode_line(line.as_bytes()).ok())
        .collect()
}

#[test]
fn kill_9_of_three_instances_at_random_moments_loses_and_invents_nothing() {
    let namespace = unique_namespace("crash");
    let topics = Topics::new(&namespace);
    let mut simulator = kouan(&namespace)
        .args([
            "simulate",
            "--brokers",
            &brokers(),
            "--rate",
            "2000",
            "--duration",
            "15s",
        ])
        .args(["--seed", "11", "--shipments-per-day", "300"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill schedule seed {seed}");
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
    let mut instances: Vec<Service> = (0..3).map(|_| processor(&namespace, "crash")).collect();
    for round in 0..6 {
        let lifetime = Duration::from_millis(rng.random_range(1_000..4_000));
        std::thread::sleep(lifetime);
        let victim = rng.random_range(0..instances.len());
        eprintln!("round {round}: killing instance {victim} after {lifetime:?}");
        instances.remove(victim).kill_hard();
        instances.push(processor(&namespace, "crash"));
    }
    assert!(simulator.wait().unwrap().success());
    let events = read_events(&brokers(), &topics);
    assert!(events.len() > 10_000, "{} events flowed", events.len());
    let expected = expected_statuses(&events);
    let published = await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert!(published.values().all(|record| record.version >= 1));
    assert_versions_increase(&brokers(), &topics.status());
    drop(instances);
}

#[test]
fn two_instances_split_the_work_and_the_survivor_converges() {
    let namespace = unique_namespace("scale");
    let topics = Topics::new(&namespace);
    let lines = simulated_lines(&namespace, 12, 16_000);
    let (first, second) = lines.split_at(lines.len() / 2);
    let ingest = |part: &[String]| ingest_lines(&namespace, part);
    ingest(first);

    let listen = format!("127.0.0.1:{}", free_port());
    let one = Service::start(
        &namespace,
        &[
            "process",
            "--brokers",
            &brokers(),
            "--group",
            "scale",
            "--metrics-listen",
            &listen,
        ],
    );
    let two = processor(&namespace, "scale");

    let expected = expected_statuses(&read_events(&brokers(), &topics));
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);

    // both instances own partitions, and together exactly all of them
    let started = std::time::Instant::now();
    loop {
        let (a, b) = (
            owned(&one).unwrap_or_default(),
            owned(&two).unwrap_or_default(),
        );
        let mut all: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
        all.sort();
        if !a.is_empty() && !b.is_empty() && all == (0..PARTITIONS).collect::<Vec<_>>() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ownership not split: {a:?} and {b:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    two.kill_hard();
    // once the survivor routes every event partition: a producer that bypassed validation puts
    // garbage on an input topic, one record per partition
    let garbage: Vec<Vec<u8>> = (0..4)
        .map(|n| format!("not an event {n}").into_bytes())
        .collect();
    let producer = kouan_bus::Publisher::new(&brokers()).unwrap();
    let equipment_topic = topics.events(kouan_model::BodyKind::Equipment);
    for (partition, payload) in garbage.iter().enumerate() {
        producer
            .send_to_partition(&equipment_topic, partition as i32, payload)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    ingest(second);
    let events = read_events(&brokers(), &topics);
    assert_eq!(
        events.len(),
        events_of(&lines).len(),
        "every valid line is an event"
    );
    let expected = expected_statuses(&events);
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    let started = std::time::Instant::now();
    while owned(&one).unwrap() != (0..PARTITIONS).collect::<Vec<_>>() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the survivor does not own every partition: {:?}",
            owned(&one)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_versions_increase(&brokers(), &topics.status());

    // each garbage record dead-lettered exactly once, with its reason and origin
    let dead = read_topic(
        &brokers(),
        &topics.deadletter(),
        garbage.len(),
        Duration::from_secs(2),
        Duration::from_secs(60),
    );
    let mut payloads: Vec<Vec<u8>> = dead.iter().map(|record| record.payload.clone()).collect();
    payloads.sort();
    assert_eq!(payloads, garbage);
    for record in &dead {
        assert!(
            record
                .header(REJECT_REASON)
                .unwrap()
                .starts_with("(protobuf)"),
            "{:?}",
            record.header(REJECT_REASON)
        );
        assert!(record
            .header(REJECT_ORIGIN)
            .unwrap()
            .starts_with(&format!("processor:{equipment_topic}/")));
    }

    // its Prometheus endpoint: events in per topic, status out, rejections, lag, latency
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let text = reqwest::blocking::get(format!("http://{listen}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .filter(|line| line.starts_with(prefix))
            .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum()
    };
    assert!(value("kouan_processor_events_in_total{") > 0.0, "{text}");
    assert!(
        value(&format!(
            "kouan_processor_status_out_total{{topic=\"{}\"}}",
            topics.status()
        )) > 0.0,
        "{text}"
    );
    assert!(value("kouan_processor_rejected_total") >= 1.0, "{text}");
    assert!(text.contains("kouan_processor_consumer_lag "), "{text}");
    assert!(
        value("kouan_processor_latency_seconds_count") > 0.0,
        "{text}"
    );
    // both stages committed transactions, each timed
    for stage in ["router", "shipments"] {
        assert!(
            value(&format!(
                "kouan_processor_commit_seconds_count{{stage=\"{stage}\"}}"
            )) > 0.0,
            "{text}"
        );
        assert!(
            value(&format!(
                "kouan_processor_commit_seconds_sum{{stage=\"{stage}\"}}"
            )) > 0.0,
            "{text}"
        );
    }
}

#[test]
fn exact_after_retention_deleted_every_event_under_a_stopped_processor() {
    let namespace = unique_namespace("retained");
    let topics = Topics::new(&namespace);
    let lines = simulated_lines(&namespace, 21, 16_000);
    let (first, second) = lines.split_at(lines.len() / 2);
    ingest_lines(&namespace, first);
    let before = processor(&namespace, "retained");
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events_of(first)),
        CONVERGENCE,
    );
    before.kill_hard();

    delete_all_events(&brokers(), &topics);
    assert!(
        read_events(&brokers(), &topics).is_empty(),
        "retention left events behind"
    );

    let _after = processor(&namespace, "retained");
    ingest_lines(&namespace, second);
    let expected = expected_statuses(&events_of(&lines));
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert_versions_increase(&brokers(), &topics.status());
    // no record was ever published with less than the one before it held: a booking once seen
    // is never lost (the failure this guards against: a restart past retention that recomputes
    // a rail shipment without its booking and publishes it over the good record)
    for (id, records) in status_history(&brokers(), &topics.status()) {
        let mut booked = false;
        for record in records.iter().flatten() {
            assert!(
                !booked || record.shipper.is_some(),
                "{id} lost its booking in version {}",
                record.version
            );
            booked |= record.shipper.is_some();
        }
    }
}

#[test]
fn a_zombie_paused_past_its_session_timeout_publishes_nothing_stale() {
    let namespace = unique_namespace("zombie");
    let topics = Topics::new(&namespace);
    let lines = simulated_lines(&namespace, 23, 15_000);
    let parts: Vec<&[String]> = lines.chunks(lines.len() / 3 + 1).collect();
    let mut zombie = processor(&namespace, "zombie");
    let mut survivor = processor(&namespace, "zombie");
    ingest_lines(&namespace, parts[0]);
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events_of(parts[0])),
        CONVERGENCE,
    );

    zombie.signal("STOP");
    ingest_lines(&namespace, parts[1]);
    let so_far: Vec<String> = parts[..2].concat();
    // the survivor takes the paused instance's partitions over once its session expires
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events_of(&so_far)),
        CONVERGENCE,
    );
    zombie.signal("CONT");
    ingest_lines(&namespace, parts[2]);
    await_statuses(
        &brokers(),
        &topics.status(),
        &expected_statuses(&events_of(&lines)),
        CONVERGENCE,
    );
    assert_versions_increase(&brokers(), &topics.status());
    assert!(
        zombie.is_running(),
        "the woken instance exited instead of starting over"
    );
    assert!(survivor.is_running());
}

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
    let namespace = unique_namespace("checkpoint");
    let topics = Topics::new(&namespace);
    let dir = std::env::temp_dir().join(format!("{namespace}-state"));
    let state_dir = dir.to_str().unwrap().to_string();
    let with_state = |every: &str| {
        Service::start(
            &namespace,
            &[
                "process",
                "--brokers",
                &brokers(),
                "--group",
                "checkpoint",
                "--state-dir",
                &state_dir,
                "--checkpoint-every",
                every,
            ],
        )
    };
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
    let restarted = with_state("1s");
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
