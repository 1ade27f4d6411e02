//! `kouan process` on the real broker: kill -9 at random moments while a simulated stream flows,
//! two instances splitting the work and one dying for good, invalid input records dead-lettered
//! once — and in every case `kouan.status` ends up equal to the reference, field by field.

use kouan_bus::headers::{REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::Topics;
use kouan_e2e::*;
use rand::Rng;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONVERGENCE: Duration = Duration::from_secs(180);

/// A running `kouan process` whose JSON log lines are collected.
struct Processor {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Processor {
    fn start(namespace: &str, group: &str) -> Self {
        let mut child = kouan(namespace)
            .args([
                "--log-format",
                "json",
                "process",
                "--brokers",
                &brokers(),
                "--group",
                group,
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Processor { child, log }
    }

    /// SIGKILL: no chance to flush or leave the group.
    fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The buckets this instance owns according to its latest ownership log line.
    fn owned(&self) -> Option<Vec<u32>> {
        let log = self.log.lock().unwrap();
        let line = log
            .iter()
            .rev()
            .find(|line| line.contains("ownership changed"))?;
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
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
}

impl Drop for Processor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let processor = Processor::start(&namespace, "crash");
        let lifetime = Duration::from_millis(rng.random_range(1_000..5_000));
        std::thread::sleep(lifetime);
        eprintln!("round {round}: killing the processor after {lifetime:?}");
        processor.kill_hard();
    }
    assert!(simulator.wait().unwrap().success());
    let survivor = Processor::start(&namespace, "crash");
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

    let one = Processor::start(&namespace, "scale");
    let two = Processor::start(&namespace, "scale");

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
            one.owned().unwrap_or_default(),
            two.owned().unwrap_or_default(),
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
        one.owned().unwrap(),
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
}
