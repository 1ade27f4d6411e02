//! A restarted `kouan serve` with `--state-dir` loads its checkpoint and reads only what was
//! published since; its answers are those of an instance that read everything. A damaged
//! checkpoint is refused and the topics are read from the beginning.

use super::fixtures::*;
use kouan_bus::Placed;
use kouan_e2e::*;

fn fields(serve: &Serve, needle: &str) -> serde_json::Value {
    let line = serve
        .service
        .last_log_line(needle)
        .unwrap_or_else(|| panic!("no log line {needle:?}"));
    serde_json::from_str::<serde_json::Value>(&line).unwrap()["fields"].clone()
}

/// What an operator sees: every shipment with its version and stage, every alert.
fn answers(serve: &Serve) -> (Vec<(String, u64, String)>, Vec<serde_json::Value>) {
    let shipments = walk(serve, "/v1/shipments", OPERATOR_TOKEN)
        .into_iter()
        .map(|s| {
            (
                s["shipmentId"].as_str().unwrap().to_string(),
                s["version"].as_u64().unwrap(),
                s["transportStage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (shipments, walk(serve, "/v1/alerts", OPERATOR_TOKEN))
}

#[test]
fn a_restart_loads_its_checkpoint_and_reads_only_what_came_after() {
    let (namespace, topics, publisher, dir) = setup("serve-restart");
    let auth = write_auth_file(&dir.0);
    let state = dir.0.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let with_state = ["--state-dir", state.to_str().unwrap()];
    let id = |i: usize| format!("R{i:03}");
    for i in 0..40 {
        publish_status(&publisher, &topics, &simple(&id(i), i % 5, 0), 1);
    }
    publish_alert(&publisher, &topics, &id(0), "SHIPPER-0", true);
    publisher.flush(std::time::Duration::from_secs(30)).unwrap();

    let mut first = Serve::start(&namespace, &auth, &with_state);
    assert_eq!(answers(&first).0.len(), 40);
    first.service.terminate();
    let checkpoint = kouan_query::checkpoint::path_in(&state);
    assert!(
        checkpoint.exists(),
        "a clean shutdown writes the checkpoint"
    );

    // while it was away: new versions of ten, five new shipments, one withdrawn (a tombstone),
    // the alert resolved — 17 records
    for i in 0..10 {
        publish_status(&publisher, &topics, &simple(&id(i), i % 5, 2), 2);
    }
    for i in 40..45 {
        publish_status(&publisher, &topics, &simple(&id(i), i % 5, 1), 1);
    }
    let (partitions, _) = kouan_bus::topics::describe(&brokers(), &topics.status())
        .unwrap()
        .unwrap();
    let withdrawn = id(39);
    publisher
        .send_placed(Placed {
            topic: &topics.status(),
            partition: kouan_bus::partitioner::partition_of(withdrawn.as_bytes(), partitions),
            key: withdrawn.as_bytes(),
            payload: None,
            timestamp: None,
            headers: None,
        })
        .unwrap();
    publish_alert(&publisher, &topics, &id(0), "SHIPPER-0", false);
    publisher.flush(std::time::Duration::from_secs(30)).unwrap();

    let second = Serve::start(&namespace, &auth, &with_state);
    let restored = fields(&second, "store restored");
    assert_eq!(restored["statuses"], 40, "{restored}");
    assert_eq!(restored["alerts"], 1, "{restored}");
    let loaded = fields(&second, "store loaded");
    assert_eq!(
        loaded["records"], 17,
        "only what came after is read: {loaded}"
    );

    // the same answers as an instance that read both topics from the beginning
    let fresh = Serve::start(&namespace, &auth, &[]);
    assert_eq!(fields(&fresh, "store loaded")["records"], 41 + 17);
    let (shipments, alerts) = answers(&second);
    assert_eq!((shipments.clone(), alerts.clone()), answers(&fresh));
    assert_eq!(shipments.len(), 44, "40 + 5 new - 1 withdrawn");
    assert!(!shipments.iter().any(|(id, _, _)| *id == withdrawn));
    assert!(
        shipments.contains(&(id(3), 2, "ARRIVED".into())),
        "{shipments:?}"
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["state"], "RESOLVED");
    drop(second);

    // a damaged checkpoint is refused: everything is read again, the answers are the same
    let mut bytes = std::fs::read(&checkpoint).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&checkpoint, bytes).unwrap();
    let third = Serve::start(&namespace, &auth, &with_state);
    assert!(third.service.last_log_line("store restored").is_none());
    let refused = fields(&third, "store checkpoint refused");
    assert!(
        refused["error"].as_str().unwrap().contains("checksum"),
        "{refused}"
    );
    assert_eq!(fields(&third, "store loaded")["records"], 41 + 17);
    assert_eq!(answers(&third), answers(&fresh));
}
