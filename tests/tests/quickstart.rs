//! The README's quickstart, as a new user runs it: `kouan up` (its embedded broker), then the
//! example bookings, one EDIFACT gate-in and one FSU fed with `kouan ingest` to the broker it
//! printed; the shipments' statuses show them, the gate-in is a DCSA equipment event and the
//! FSU's status a ONE Record LogisticsEvent.

use kouan_e2e::KillOnDrop;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_quickstart_feeds_an_edifact_file_and_an_fsu_into_kouan_up() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let namespace = kouan_e2e::unique_namespace("quickstart");
    let child = kouan_e2e::kouan(&namespace)
        .args([
            "up",
            "--history",
            "1h",
            "--shipments-per-day",
            "50",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let (lines, said) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let (mut broker, mut url, mut token) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    while broker.is_none() || url.is_none() || token.is_none() {
        let line = said
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("kouan up printed its broker, its URL and a shipper's token");
        if let Some(rest) = line.strip_prefix("kouan up: broker ") {
            broker = rest.split_whitespace().next().map(String::from);
        }
        if let Some(rest) = line.strip_prefix("kouan up: dashboard and API at ") {
            url = Some(rest.trim_end_matches('/').to_string());
        }
        if line.trim_end().ends_with("shipper henan-elec") {
            token = line.split_whitespace().next().map(String::from);
        }
    }
    let (broker, url, token) = (broker.unwrap(), url.unwrap(), token.unwrap());

    let zones = example("zones.txt");
    for args in [
        vec![example("bookings.ndjson")],
        vec![
            "--source-zones".into(),
            zones.clone(),
            example("gate-in.edi"),
        ],
        vec!["--source-zones".into(), zones, example("received.fsu")],
    ] {
        let output = kouan_e2e::kouan(&namespace)
            .args(["ingest", "--brokers", &broker])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
    }

    let client = reqwest::blocking::Client::new();
    for (shipment, milestone) in [("ZZHH2612070001", "GTIN"), ("784-12345675", "RCS")] {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answer = client
                .get(format!("{url}/v1/shipments/{shipment}"))
                .bearer_auth(&token)
                .send()
                .unwrap()
                .text()
                .unwrap();
            let status: serde_json::Value = serde_json::from_str(&answer).unwrap();
            let codes: Vec<&str> = status["milestones"]
                .as_array()
                .map(|m| m.iter().filter_map(|m| m["code"].as_str()).collect())
                .unwrap_or_default();
            if codes.contains(&milestone) {
                assert_eq!(status["transportStage"], "RECEIVED", "{answer}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{shipment} never showed {milestone}: {answer}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    // the README's DCSA request: the EDIFACT gate-in as a DCSA equipment event
    let answer = client
        .get(format!(
            "{url}/dcsa/tnt/v2/events?carrierBookingReference=ZZHH2612070001&eventType=EQUIPMENT"
        ))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let events: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let gate_in = &events[0];
    assert_eq!(gate_in["equipmentEventTypeCode"], "GTIN", "{answer}");
    assert_eq!(gate_in["emptyIndicatorCode"], "LADEN", "{answer}");
    assert_eq!(
        gate_in["documentReferences"][0]["documentReferenceValue"],
        "ZZHH2612070001"
    );
    // and its ONE Record request: the FSU's RCS as a LogisticsEvent
    let answer = client
        .get(format!(
            "{url}/onerecord/logistics-objects/shipment-784-12345675/logistics-events"
        ))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let collection: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let codes: Vec<&str> = collection["api:hasItem"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|e| e["cargo:eventCode"]["cargo:code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(codes.contains(&"RCS"), "{answer}");
}
