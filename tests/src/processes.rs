//! Running `kouan process` instances in the tests: starting one, which partitions it owns, a
//! simulated stream to feed it.

use crate::*;

pub fn processor(namespace: &str, group: &str) -> Service {
    Service::start(
        namespace,
        &["process", "--brokers", &brokers(), "--group", group],
    )
}

/// The by-shipment partitions an instance owns according to its latest ownership log line.
pub fn owned(service: &Service) -> Option<Vec<u32>> {
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
pub fn simulated_lines(namespace: &str, seed: u32, events: u32) -> Vec<String> {
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
pub fn events_of(lines: &[String]) -> Vec<kouan_model::Event> {
    lines
        .iter()
        .filter_map(|line| kouan_model::ndjson::decode_line(line.as_bytes()).ok())
        .collect()
}
