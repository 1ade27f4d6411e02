//! `kouan simulate` publishing to the real broker: exactly the stream `--out` would write, in
//! its order, valid events on their topics with their keys, malformed ones dead-lettered.

use kouan_bus::Topics;
use kouan_e2e::*;
use kouan_model::{ndjson, protobuf, BodyKind};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

#[test]
fn publishing_sends_the_same_stream_as_the_file() {
    let namespace = unique_namespace("simulate");
    let scenario = ["--seed", "7", "--malformed", "0.01", "--rate", "4000"];
    let output = Command::new(kouan_bin())
        .args([
            "--namespace",
            &namespace,
            "simulate",
            "--brokers",
            &brokers(),
            "--duration",
            "2s",
        ])
        .args(scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let topics = Topics::new(&namespace);
    let quiet = Duration::from_millis(800);
    let deadline = Duration::from_secs(60);
    let mut published: BTreeMap<(String, Vec<u8>, Vec<u8>), usize> = BTreeMap::new();
    let mut count = 0;
    for kind in BodyKind::ALL {
        let topic = topics.events(kind);
        for record in read_topic(&brokers(), &topic, 0, quiet, deadline) {
            *published
                .entry((topic.clone(), record.key.unwrap(), record.payload))
                .or_default() += 1;
            count += 1;
        }
    }
    let dead = read_topic(&brokers(), &topics.deadletter(), 0, quiet, deadline);
    assert!(count > 1000, "published {count}");
    assert!(
        !dead.is_empty(),
        "1% malformed records should reach the dead-letter topic"
    );

    let file = std::env::temp_dir().join(format!("{namespace}.ndjson"));
    let output = Command::new(kouan_bin())
        .args(["simulate", "--duration", "10s", "--out"])
        .arg(&file)
        .args(scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    let mut expected: BTreeMap<(String, Vec<u8>, Vec<u8>), usize> = BTreeMap::new();
    let mut expected_dead = Vec::new();
    for line in text.lines().take(count + dead.len()) {
        match ndjson::decode_line(line.as_bytes()) {
            Ok(event) => {
                let key = event.body.natural_key().as_bytes().to_vec();
                *expected
                    .entry((
                        topics.events(event.kind()),
                        key,
                        protobuf::encode_event(&event),
                    ))
                    .or_default() += 1;
            }
            Err(_) => expected_dead.push(line.as_bytes().to_vec()),
        }
    }
    assert!(
        published == expected,
        "published events differ from the first {} lines of the file",
        count + dead.len()
    );
    let mut dead_payloads: Vec<Vec<u8>> = dead.into_iter().map(|record| record.payload).collect();
    dead_payloads.sort();
    expected_dead.sort();
    assert_eq!(dead_payloads, expected_dead);
}
