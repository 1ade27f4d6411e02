//! `kouan topics create` and `kouan ingest` against the real broker.

use kouan_bus::headers::{REJECT_ORIGIN, REJECT_REASON};
use kouan_bus::Topics;
use kouan_e2e::*;
use kouan_model::{ndjson, protobuf, BodyKind, Event};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(serde::Deserialize)]
struct InvalidCase {
    field: String,
    input: String,
}

fn kouan(namespace: &str) -> Command {
    let mut command = Command::new(kouan_bin());
    command.arg("--namespace").arg(namespace);
    command
}

#[test]
fn topics_create_is_idempotent_and_names_every_topic() {
    let namespace = unique_namespace("topics");
    for _ in 0..2 {
        let output = kouan(&namespace)
            .args([
                "topics",
                "create",
                "--brokers",
                &brokers(),
                "--partitions",
                "3",
            ])
            .args(["--event-retention", "2days"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let listed = String::from_utf8(output.stdout).unwrap();
        assert_eq!(listed.lines().count(), 13, "{listed}");
        assert!(listed.contains(&format!("{namespace}.internal.pull")));
        assert!(listed.contains(&format!("{namespace}.status")));
        assert!(listed.contains(&format!("{namespace}.internal.alerter")));
        assert!(listed.contains(&format!("{namespace}.internal.by-shipment")));
    }

    // every topic's cleanup and retention are set explicitly, internal ones included
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        kouan_bus::config::base(&brokers()).create().unwrap();
    let topics = Topics::new(&namespace);
    let specs = topics.all_specs(Duration::from_secs(2 * 86_400));
    let names: Vec<String> = specs.iter().map(|spec| spec.name.clone()).collect();
    let resources: Vec<ResourceSpecifier> = names
        .iter()
        .map(|name| ResourceSpecifier::Topic(name))
        .collect();
    let described =
        futures::executor::block_on(admin.describe_configs(&resources, &AdminOptions::new()))
            .unwrap();
    for (name, result) in names.iter().zip(described) {
        let config = result.unwrap();
        let value = |key: &str| config.get(key).and_then(|e| e.value.clone()).unwrap();
        let internal_or_compacted =
            name.contains(".internal.") || name.ends_with(".status") || name.ends_with(".alerts");
        if internal_or_compacted {
            assert_eq!(value("cleanup.policy"), "compact", "{name}");
        } else {
            assert_eq!(value("cleanup.policy"), "delete", "{name}");
            assert_eq!(value("retention.ms"), "172800000", "{name}");
        }
        assert!(!config.get("cleanup.policy").unwrap().is_default, "{name}");
    }
}

/// Valid events of every body kind interleaved with invalid lines of every rejection kind and a
/// blank line: exactly the valid events arrive, on the right topics with the right keys, equal
/// field by field; each invalid line is reported with its number and dead-lettered; exit 1.
#[test]
fn mixed_file_publishes_valid_events_and_dead_letters_the_rest() {
    let valid: Vec<String> = include_str!("../fixtures/valid.ndjson")
        .lines()
        .map(String::from)
        .collect();
    let invalid: Vec<InvalidCase> =
        serde_json::from_str(include_str!("../fixtures/invalid.json")).unwrap();
    let kinds: std::collections::BTreeSet<BodyKind> = valid
        .iter()
        .map(|l| ndjson::decode_line(l.as_bytes()).unwrap().kind())
        .collect();
    assert_eq!(
        kinds.len(),
        BodyKind::ALL.len(),
        "fixtures hold every body kind"
    );

    // Interleave: valid, invalid, valid, invalid, …, and one blank line.
    let mut lines: Vec<String> = Vec::new();
    let mut expected_rejects: BTreeMap<usize, String> = BTreeMap::new();
    let mut expected_events: Vec<Event> = Vec::new();
    let (mut v, mut i) = (valid.iter(), invalid.iter());
    loop {
        let (next_valid, next_invalid) = (v.next(), i.next());
        if next_valid.is_none() && next_invalid.is_none() {
            break;
        }
        if let Some(line) = next_valid {
            lines.push(line.clone());
            expected_events.push(ndjson::decode_line(line.as_bytes()).unwrap());
        }
        if let Some(case) = next_invalid {
            lines.push(case.input.clone());
            expected_rejects.insert(lines.len(), case.field.clone());
        }
        if lines.len() == 6 {
            lines.push(String::new());
        }
    }
    let file = std::env::temp_dir().join(format!("{}.ndjson", unique_namespace("mixed")));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let namespace = unique_namespace("ingest");
    let output = kouan(&namespace)
        .args(["ingest", "--brokers", &brokers()])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let reported: BTreeMap<usize, String> = stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("line ")?;
            let (number, reason) = rest.split_once(": ")?;
            Some((number.parse().ok()?, reason.split(':').next()?.to_string()))
        })
        .collect();
    assert_eq!(reported, expected_rejects, "{stderr}");

    let topics = Topics::new(&namespace);
    let broker = brokers();
    let mut arrived: Vec<Event> = Vec::new();
    for kind in BodyKind::ALL {
        let expected_here = expected_events.iter().filter(|e| e.kind() == kind).count();
        let records = read_topic(
            &broker,
            &topics.events(kind),
            expected_here,
            Duration::from_secs(1),
            Duration::from_secs(30),
        );
        assert_eq!(
            records.len(),
            expected_here,
            "records on {}",
            topics.events(kind)
        );
        for record in records {
            let event = protobuf::decode_event(&record.payload)
                .expect("valid protobuf on the event topics");
            assert_eq!(event.kind(), kind);
            assert_eq!(
                record.key.as_deref(),
                Some(event.body.natural_key().as_bytes()),
                "key of {event:?}"
            );
            arrived.push(event);
        }
    }
    let sort = |events: &mut Vec<Event>| {
        events.sort_by(|a, b| (&a.source, &a.event_id).cmp(&(&b.source, &b.event_id)))
    };
    sort(&mut arrived);
    sort(&mut expected_events);
    assert_eq!(arrived, expected_events);

    let dead = read_topic(
        &broker,
        &topics.deadletter(),
        expected_rejects.len(),
        Duration::from_secs(1),
        Duration::from_secs(30),
    );
    assert_eq!(dead.len(), expected_rejects.len());
    let mut dead_by_line: BTreeMap<usize, (String, Vec<u8>)> = BTreeMap::new();
    for record in dead {
        let origin = record.header(REJECT_ORIGIN).expect("origin header");
        let line: usize = origin.rsplit(':').next().unwrap().parse().unwrap();
        let reason = record.header(REJECT_REASON).expect("reason header");
        dead_by_line.insert(line, (reason, record.payload));
    }
    for (line, field) in &expected_rejects {
        let (reason, payload) = &dead_by_line[line];
        assert!(
            reason.starts_with(&format!("{field}: ")),
            "line {line}: {reason}"
        );
        assert_eq!(
            payload,
            lines[line - 1].as_bytes(),
            "dead-lettered bytes of line {line}"
        );
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn all_valid_stdin_exits_zero() {
    let namespace = unique_namespace("stdin");
    let mut child = kouan(&namespace)
        .args(["ingest", "--brokers", &brokers(), "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(include_str!("../fixtures/valid.ndjson").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let topics = Topics::new(&namespace);
    let records = read_topic(
        &brokers(),
        &topics.events(BodyKind::Transport),
        3,
        Duration::from_millis(500),
        Duration::from_secs(30),
    );
    assert_eq!(records.len(), 3);
    let dead = read_topic(
        &brokers(),
        &topics.deadletter(),
        0,
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    assert!(dead.is_empty());
}
