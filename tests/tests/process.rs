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
