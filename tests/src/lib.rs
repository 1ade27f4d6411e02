//! Helpers for the end-to-end tests: the broker under test, the `kouan` binary, and reading a
//! topic back.
//!
//! - The broker comes from `KOUAN_TEST_BROKERS`, which `scripts/test` sets after starting Apache
//!   Kafka with `scripts/kafka serve`. Without it the tests fail (they are never skipped). A test
//!   that must stop and restart its broker starts one of its own ([`KafkaBroker`]).
//! - The binary is `target/<profile>/kouan` (or `KOUAN_BIN`); `scripts/test` builds it first.
//! - Each test works in a namespace of its own, so tests sharing the broker never see each
//!   other's records.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn brokers() -> String {
    std::env::var("KOUAN_TEST_BROKERS").expect(
        "KOUAN_TEST_BROKERS is not set: run the suite with scripts/test, which starts a broker",
    )
}

pub fn kouan_bin() -> PathBuf {
    if let Ok(path) = std::env::var("KOUAN_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join("kouan");
    assert!(
        path.exists(),
        "{} does not exist: build it first (scripts/test runs `cargo build --bins`)",
        path.display()
    );
    path
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A namespace no other test (or earlier run against the same broker) uses.
pub fn unique_namespace(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t-{test}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    }

    fn from_message(message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        Record {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
        }
    }
}

/// Reads every partition of `topic` from the beginning until `expected` records have arrived, the
/// reader has reached the partitions' ends, and nothing more came for `quiet` (so that records
/// still being written would be seen), or until `deadline`.
pub fn read_topic(
    brokers: &str,
    topic: &str,
    expected: usize,
    quiet: Duration,
    deadline: Duration,
) -> Vec<Record> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut follower = kouan_bus::Follower::from_beginning(
        brokers,
        &unique_namespace("reader"),
        &[topic.to_string()],
        &cancel,
    )
    .expect("reader");
    let started = Instant::now();
    let mut last_record = Instant::now();
    let mut records = Vec::new();
    while started.elapsed() < deadline {
        if let Some(message) = follower.poll(kouan_bus::follower::POLL) {
            records.push(Record::from_message(&message));
            last_record = Instant::now();
        }
        let caught_up = follower.caught_up();
        if records.len() >= expected && last_record.elapsed() >= quiet && caught_up {
            break;
        }
    }
    records
}

/// The `kouan` command in a test's namespace.
pub fn kouan(namespace: &str) -> std::process::Command {
    let mut command = std::process::Command::new(kouan_bin());
    command.arg("--namespace").arg(namespace);
    command
}

/// Deletes every record of the five event topics published so far, as retention would.
pub fn delete_all_events(brokers: &str, topics: &kouan_bus::Topics) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        kouan_bus::config::base(brokers).create().unwrap();
    let consumer: BaseConsumer = kouan_bus::config::consumer(brokers, &unique_namespace("admin"))
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    for kind in kouan_model::BodyKind::ALL {
        let topic = topics.events(kind);
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        for partition in 0..metadata.topics()[0].partitions().len() as i32 {
            let (_, high) = consumer
                .fetch_watermarks(&topic, partition, Duration::from_secs(10))
                .unwrap();
            offsets
                .add_partition_offset(&topic, partition, Offset::Offset(high))
                .unwrap();
        }
    }
    let deleted =
        futures::executor::block_on(admin.delete_records(&offsets, &AdminOptions::new())).unwrap();
    for element in deleted.elements() {
        assert!(element.error().is_ok(), "{element:?}");
    }
}

/// Every valid event on the five event topics of `topics`.
pub fn read_events(brokers: &str, topics: &kouan_bus::Topics) -> Vec<kouan_model::Event> {
    let mut events = Vec::new();
    for kind in kouan_model::BodyKind::ALL {
        for record in read_topic(
            brokers,
            &topics.events(kind),
            0,
            Duration::from_millis(800),
            Duration::from_secs(60),
        ) {
            if let Ok(event) = kouan_model::protobuf::decode_event(&record.payload) {
                events.push(event);
            }
        }
    }
    events
}

/// What a compacted topic holds: the last record per key (tombstones remove the key).
pub fn latest_statuses(
    brokers: &str,
    topic: &str,
) -> std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus> {
    status_history(brokers, topic)
        .into_iter()
        .filter_map(|(key, mut records)| records.pop().flatten().map(|record| (key, record)))
        .collect()
}

/// Every record of a compacted status topic that is still there, per key in publication order
/// (`None` for a tombstone).
pub fn status_history(
    brokers: &str,
    topic: &str,
) -> std::collections::BTreeMap<String, Vec<Option<kouan_model::pb::ShipmentStatus>>> {
    use prost::Message as _;
    let mut records = read_topic(
        brokers,
        topic,
        0,
        Duration::from_millis(500),
        Duration::from_secs(60),
    );
    records.sort_by_key(|record| (record.partition, record.offset));
    let mut history = std::collections::BTreeMap::<String, Vec<_>>::new();
    for record in records {
        let key = String::from_utf8(record.key.clone().expect("status records are keyed")).unwrap();
        let value = (!record.payload.is_empty())
            .then(|| kouan_model::pb::ShipmentStatus::decode(record.payload.as_slice()).unwrap());
        history.entry(key).or_default().push(value);
    }
    history
}

/// Nothing stale was ever published: per shipment, versions strictly increase in the order the
/// topic holds them (a zombie's or a restarted instance's repeat would repeat or lower one).
pub fn assert_versions_increase(brokers: &str, topic: &str) {
    for (id, records) in status_history(brokers, topic) {
        let versions: Vec<u64> = records.iter().flatten().map(|r| r.version).collect();
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "versions of {id} do not increase: {versions:?}"
        );
    }
}

/// The reference records of `events`, as `kouan.status` should hold them (version and
/// updatedAt zeroed on both sides before comparing).
pub fn expected_statuses(
    events: &[kouan_model::Event],
) -> std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus> {
    let zero = kouan_model::Timestamp::from_parts(0, 0, 0).unwrap();
    kouan_processor::reference(events)
        .into_iter()
        .map(|(id, status)| (id, status.to_proto(0, &zero)))
        .collect()
}

fn zeroed(mut record: kouan_model::pb::ShipmentStatus) -> kouan_model::pb::ShipmentStatus {
    record.version = 0;
    record.updated_at = Some(kouan_model::protobuf::time_to_proto(
        &kouan_model::Timestamp::from_parts(0, 0, 0).unwrap(),
    ));
    record
}

/// Waits until the status topic holds exactly `expected`; on the deadline, fails showing the
/// first difference field by field.
pub fn await_statuses(
    brokers: &str,
    topic: &str,
    expected: &std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus>,
    deadline: Duration,
) -> std::collections::BTreeMap<String, kouan_model::pb::ShipmentStatus> {
    let started = Instant::now();
    loop {
        let actual = latest_statuses(brokers, topic);
        let zeroed_actual: std::collections::BTreeMap<_, _> = actual
            .clone()
            .into_iter()
            .map(|(id, record)| (id, zeroed(record)))
            .collect();
        if &zeroed_actual == expected {
            return actual;
        }
        if started.elapsed() > deadline {
            let missing: Vec<_> = expected
                .keys()
                .filter(|id| !zeroed_actual.contains_key(*id))
                .take(5)
                .collect();
            let extra: Vec<_> = zeroed_actual
                .keys()
                .filter(|id| !expected.contains_key(*id))
                .take(5)
                .collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{} expected, {} on the topic; missing {missing:?}, extra {extra:?}",
                expected.len(),
                zeroed_actual.len()
            );
            for (id, record) in expected {
                assert_eq!(
                    record, &zeroed_actual[id],
                    "status of {id} differs from the reference"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A running `kouan` service whose JSON log lines are collected, killed when dropped.
pub struct Service {
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Service {
    /// Starts `kouan --namespace NS --log-format json ARGS…`.
    pub fn start(namespace: &str, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = kouan(namespace)
            .args(["--log-format", "json"])
            .args(args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        Service { child, log }
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: a clean shutdown; waits for the process to exit.
    pub fn terminate(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    }

    /// Sends a signal (`STOP`, `CONT`, …) without waiting for anything.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process is still running (it has not exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The latest log line containing `needle`.
    pub fn last_log_line(&self, needle: &str) -> Option<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|line| line.contains(needle))
            .cloned()
    }

    /// Waits until a log line contains `needle`.
    pub fn await_log(&self, needle: &str, deadline: Duration) {
        let started = Instant::now();
        while self.last_log_line(needle).is_none() {
            assert!(
                started.elapsed() < deadline,
                "no `{needle}` in the log within {deadline:?}: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `kouan serve` with its address and tokens.
pub struct Serve {
    pub service: Service,
    pub url: String,
}

/// The auth file every serve test uses: one operator and shippers `SHIPPER-0` … `SHIPPER-4`.
pub const OPERATOR_TOKEN: &str = "operator-token-0001";

pub fn shipper_token(index: usize) -> String {
    format!("shipper-token-{index:04}")
}

pub fn write_auth_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("auth.txt");
    let mut text = format!("# test tokens\n{OPERATOR_TOKEN} operator\n");
    for index in 0..5 {
        text.push_str(&format!(
            "{} shipper SHIPPER-{index}\n",
            shipper_token(index)
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

impl Serve {
    /// Starts `kouan serve` on a free port and waits until it has loaded the topics.
    pub fn start(namespace: &str, auth_file: &std::path::Path, extra: &[&str]) -> Self {
        let brokers = brokers();
        let mut args = vec![
            "serve",
            "--brokers",
            &brokers,
            "--auth-file",
            auth_file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let service = Service::start(namespace, &args);
        service.await_log("\"serving\"", Duration::from_secs(60));
        let line = service.last_log_line("\"serving\"").unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let listen = value["fields"]["listen"].as_str().unwrap().to_string();
        let url = format!("http://{listen}");
        service.await_log("store loaded", Duration::from_secs(60));
        Serve { service, url }
    }
}

/// A broker of a test's own, for tests that stop and restart it: `scripts/kafka serve --port P
/// --dir D`, exactly as users and `scripts/test` start it.
pub struct KafkaBroker {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<std::process::Child>,
}

impl KafkaBroker {
    /// Starts a new broker in `dir` (formatted on first start) and waits until it serves.
    pub fn start(dir: &std::path::Path) -> Self {
        let mut broker = KafkaBroker {
            port: free_port(),
            dir: dir.to_path_buf(),
            child: None,
        };
        broker.restart();
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn started_lines(&self) -> usize {
        std::fs::read_to_string(self.dir.join("server.log"))
            .map(|log| log.matches("Kafka Server started").count())
            .unwrap_or(0)
    }

    /// Starts the broker again on its data (same port) and waits until it serves.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker is running");
        let before = self.started_lines();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka");
        let log = std::fs::File::create(self.dir.with_extension("out")).unwrap();
        let mut child = std::process::Command::new(script)
            .args(["serve", "--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while self.started_lines() <= before {
            if let Some(exit) = child.try_wait().unwrap() {
                panic!("the broker exited: {exit:?}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the broker did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child = Some(child);
    }

    /// SIGTERM, and waits for Kafka's clean shutdown.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("the broker is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        // the JVM answers SIGTERM with its shutdown hooks and exit code 143
        assert!(
            exit.success() || exit.code() == Some(143),
            "broker exit after SIGTERM: {exit:?}"
        );
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}
