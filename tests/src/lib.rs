//! Helpers for the end-to-end tests: the broker under test, the `kouan` binary, and reading a
//! topic back.
//!
//! - The broker comes from `KOUAN_TEST_BROKERS`, which `scripts/test` sets after starting Apache
//!   Kafka with `scripts/kafka serve`. Without it the tests fail (they are never skipped). A test
//!   that must stop and restart its broker starts one of its own ([`KafkaBroker`]).
//! - The binary is `target/<profile>/kouan` (or `KOUAN_BIN`); `scripts/test` builds it first.
//! - [`quality`]: alert precision and recall against the simulator's ground truth.
//! - [`curls`]: the `curl` commands the documents show, to send to a running kouan.
//! - Each test works in a namespace of its own, so tests sharing the broker never see each
//!   other's records.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

mod broker;
pub mod curls;
mod processes;
pub mod quality;
mod records;
mod service;
mod statuses;

pub use broker::*;
pub use processes::*;
pub use records::*;
pub use service::*;
pub use statuses::*;

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

pub use kouan_model::wall_millis;

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

/// The `kouan` command in a test's namespace.
pub fn kouan(namespace: &str) -> std::process::Command {
    let mut command = std::process::Command::new(kouan_bin());
    command.arg("--namespace").arg(namespace);
    command
}

/// Publishes NDJSON lines with `kouan ingest` (rejected lines are expected and fine).
pub fn ingest_lines(namespace: &str, lines: &[String]) {
    let file = std::env::temp_dir().join(format!("{namespace}-part.ndjson"));
    std::fs::write(&file, lines.join("\n")).unwrap();
    let output = kouan(namespace)
        .args(["ingest", "--brokers", &brokers()])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
