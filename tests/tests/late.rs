//! Late data is never dropped without a word: an event of a shipment the retention rule already
//! forgot, and the events of a train nothing reached before they passed the horizon, go to the
//! dead-letter topic with a reason naming the horizon and what they were late for, are counted
//! in `kouan_processor_late_events_total`, logged, and shown to an operator in `/v1/network` (the
//! dashboard's counts); once `--retention` is raised,
//! `kouan replay-dead-letters` offers the train's events again and a LOAD onto it finds them.

use kouan_bus::Topics;
use kouan_e2e::*;
use std::time::{Duration, Instant};

const SHIPPER: &str = r#""shipper":"henan-elec","mode":"RAIL","direction":"EXPORT","origin":"CNZZP","destination":"DEHAM""#;

fn booking(id: &str, shipment: &str, kind: &str, time: &str, units: &str) -> String {
    format!(
        r#"{{"eventId":"{id}","source":"late-test","eventTime":"{time}","shipment":{{"type":"{kind}","shipmentId":"{shipment}","documentType":"RAIL_WAYBILL",{SHIPPER},"units":[{units}]}}}}"#
    )
}

/// The metric's value for `reason`, when the processor exports it.
fn late_count(text: &str, reason: &str) -> Option<f64> {
    let prefix = format!("kouan_processor_late_events_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
}

fn await_metric(metrics: &str, reason: &str, expected: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = reqwest::blocking::get(format!("http://{metrics}/metrics"))
            .and_then(|response| response.text())
            .unwrap_or_default();
        if late_count(&text, reason) == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "late events ({reason}) {:?}, expected {expected}",
            late_count(&text, reason)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn dead_letters(topics: &Topics, expected: usize) -> Vec<Record> {
    read_topic(
        &brokers(),
        &topics.deadletter(),
        expected,
        Duration::from_secs(1),
        Duration::from_secs(90),
    )
}

#[test]
fn late_events_are_dead_lettered_counted_and_replayed_once_the_horizon_allows() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let namespace = unique_namespace("late");
    let topics = Topics::new(&namespace);
    let train = "X9001-20261104";
    // a shipment booked and cancelled on day 1; a train departing on day 4 that nothing has been
    // loaded onto yet; another booking on day 6, which takes the watermark past both with a
    // retention of one day
    ingest_lines(
        &namespace,
        &[
            booking(
                "L-B1",
                "ZZHH2611010001",
                "BOOKED",
                "2026-11-01T08:00:00+08:00",
                "",
            ),
            booking(
                "L-C1",
                "ZZHH2611010001",
                "CANCELLED",
                "2026-11-01T09:00:00+08:00",
                "",
            ),
            format!(
                r#"{{"eventId":"L-T1","source":"late-test","eventTime":"2026-11-04T08:00:00+08:00","location":{{"unlocode":"CNZZP"}},"transport":{{"type":"DEPARTED","mode":"RAIL","reference":"{train}"}}}}"#
            ),
            booking(
                "L-B2",
                "ZZHH2611060001",
                "BOOKED",
                "2026-11-06T08:00:00+08:00",
                "",
            ),
        ],
    );
    let metrics = format!("127.0.0.1:{}", free_port());
    let process = |retention: &str| {
        Service::start(
            &namespace,
            &[
                "process",
                "--brokers",
                &brokers(),
                "--group",
                "late",
                "--retention",
                retention,
                "--metrics-listen",
                &metrics,
            ],
        )
    };
    let short = process("1day");

    // the train's departure passes the horizon with nothing reaching it
    let letters = dead_letters(&topics, 1);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let reason = letters[0].header("kouan-reject-reason").unwrap();
    assert!(
        reason.starts_with(&format!("late: conveyance {train} (transport)"))
            && reason.contains("--retention 1day"),
        "{reason}"
    );
    let departed = kouan_model::protobuf::decode_event(&letters[0].payload).unwrap();
    assert_eq!(departed.event_id.as_str(), "L-T1");
    await_metric(&metrics, "unreached_conveyance", 1.0);
    short.await_log(
        "events of a conveyance nothing reached dead-lettered",
        Duration::from_secs(30),
    );

    // a correction of the cancelled shipment, forgotten by now
    ingest_lines(
        &namespace,
        &[booking(
            "L-U1",
            "ZZHH2611010001",
            "UPDATED",
            "2026-11-01T10:00:00+08:00",
            "",
        )],
    );
    let letters = dead_letters(&topics, 2);
    assert_eq!(letters.len(), 2, "{letters:?}");
    let reason = letters[1].header("kouan-reject-reason").unwrap();
    assert!(
        reason.starts_with("late: shipment ZZHH2611010001 finished at 2026-11-01T01:00:00")
            && reason.contains("forgotten past the horizon (--retention 1day)"),
        "{reason}"
    );
    assert_eq!(
        letters[1]
            .header("kouan-reject-origin")
            .unwrap()
            .split('/')
            .next(),
        Some(format!("processor:{}", topics.by_shipment()).as_str())
    );
    await_metric(&metrics, "forgotten_shipment", 1.0);
    // the dashboard's counts: an operator sees both late events, a shipper nothing of them
    let dir = std::env::temp_dir().join(&namespace);
    std::fs::create_dir_all(&dir).unwrap();
    let serve = Serve::start(&namespace, &write_auth_file(&dir), &[]);
    let network = |token: &str| -> serde_json::Value {
        let text = reqwest::blocking::Client::new()
            .get(format!("{}/v1/network", serve.url))
            .bearer_auth(token)
            .send()
            .unwrap()
            .text()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while network(OPERATOR_TOKEN)["pipeline"]["deadLetters"]["late"] != 2 {
        assert!(
            Instant::now() < deadline,
            "{}",
            network(OPERATOR_TOKEN)["pipeline"]
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        network(&shipper_token(0))["pipeline"]["deadLetters"],
        serde_json::Value::Null
    );
    drop(serve);
    // the forgotten shipment's record stays as published: cancelled, without the correction
    let statuses = latest_statuses(&brokers(), &topics.status());
    let cancelled = &statuses["ZZHH2611010001"];
    assert!(cancelled.milestones.iter().all(|m| m.event_id != "L-U1"));
    short.kill_hard();

    // the operator raises the horizon and offers the train's events again
    let long = process("30days");
    let replay = kouan(&namespace)
        .args(["replay-dead-letters", "--brokers", &brokers()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&replay.stderr);
    assert!(replay.status.success(), "{said}");
    assert!(
        said.contains("2 dead letters read, 1 events offered again"),
        "{said}"
    );
    // a shipment loaded onto the train now finds its departure
    ingest_lines(
        &namespace,
        &[
            booking(
                "L-B3",
                "ZZHH2611040001",
                "BOOKED",
                "2026-11-04T04:00:00+08:00",
                r#""TCNU0000048""#,
            ),
            format!(
                r#"{{"eventId":"L-L3","source":"late-test","eventTime":"2026-11-04T06:00:00+08:00","location":{{"unlocode":"CNZZP"}},"equipment":{{"type":"LOAD","equipmentReference":"TCNU0000048","emptyIndicator":"LADEN","shipmentIds":[],"transport":{{"mode":"RAIL","reference":"{train}"}}}}}}"#
            ),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let statuses = latest_statuses(&brokers(), &topics.status());
        let departed = statuses
            .get("ZZHH2611040001")
            .is_some_and(|status| status.milestones.iter().any(|m| m.event_id == "L-T1"));
        if departed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replayed departure never joined: {:?}",
            statuses.get("ZZHH2611040001")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(long);
}
