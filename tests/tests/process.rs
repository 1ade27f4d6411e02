//! `kouan process` on the real broker: kill -9 at random moments while a simulated stream flows,
//! two instances splitting the work and one dying for good, invalid input records dead-lettered
//! once — and in every case `kouan.status` ends up equal to the reference, field by field.

use kouan_bus::headers::{REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::Topics;
use kouan_e2e::*;
use rand::Rng;
use std::process::Stdio;
use std::time::Duration;

const CONVERGENCE: Duration = Duration::from_secs(180);

fn processor(namespace: &str, group: &str) -> Service {
    Service::start(
        namespace,
        &["process", "--brokers", &brokers(), "--group", group],
    )
}

/// The buckets an instance owns according to its latest ownership log line.
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

#[test]
fn kill_9_at_random_moments_loses_and_invents_nothing() {
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
            "12s",
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
    for round in 0..4 {
        let processor = processor(&namespace, "crash");
        let lifetime = Duration::from_millis(rng.random_range(1_000..5_000));
        std::thread::sleep(lifetime);
        eprintln!("round {round}: killing the processor after {lifetime:?}");
        processor.kill_hard();
    }
    assert!(simulator.wait().unwrap().success());
    let survivor = processor(&namespace, "crash");
    let events = read_events(&brokers(), &topics);
    assert!(events.len() > 10_000, "{} events flowed", events.len());
    let expected = expected_statuses(&events);
    let published = await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert!(published.values().all(|record| record.version >= 1));
    drop(survivor);
}

#[test]
fn two_instances_split_the_work_and_the_survivor_converges() {
    let namespace = unique_namespace("scale");
    let topics = Topics::new(&namespace);
    let file = std::env::temp_dir().join(format!("{namespace}.ndjson"));
    let output = kouan(&namespace)
        .args([
            "simulate",
            "--rate",
            "16000",
            "--duration",
            "1s",
            "--seed",
            "12",
            "--shipments-per-day",
            "300",
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let ingest = |part: &[&str]| {
        std::fs::write(&file, part.join("\n")).unwrap();
        let output = kouan(&namespace)
            .args(["ingest", "--brokers", &brokers()])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
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

    // a producer that bypassed validation: garbage on an input topic, one record per partition
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

    let expected = expected_statuses(&read_events(&brokers(), &topics));
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);

    // both instances own buckets, and together exactly all of them
    let started = std::time::Instant::now();
    loop {
        let (a, b) = (
            owned(&one).unwrap_or_default(),
            owned(&two).unwrap_or_default(),
        );
        let mut all: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
        all.sort();
        if !a.is_empty() && !b.is_empty() && all == (0..12).collect::<Vec<_>>() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ownership not split: {a:?} and {b:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    two.kill_hard();
    ingest(second);
    let _ = std::fs::remove_file(&file);
    let events = read_events(&brokers(), &topics);
    assert_eq!(events.len(), lines.len(), "every line is an event");
    let expected = expected_statuses(&events);
    await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
    assert_eq!(
        owned(&one).unwrap(),
        (0..12).collect::<Vec<_>>(),
        "the survivor owns every bucket"
    );

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
}
