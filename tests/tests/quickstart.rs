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
            // for the intake's curl (docs/standards/intake.md): the examples' times carry no offset
            "--source-zones",
            &example("zones.txt"),
            // for the DCSA subscription's curl (docs/standards/dcsa-out.md)
            "--webhook-allow",
            "127.0.0.1",
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
    let (mut broker, mut url, mut token, mut producer) = (None, None, None, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    while broker.is_none() || url.is_none() || token.is_none() || producer.is_none() {
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
        if line.trim_end().ends_with("producer ZZYARD CGOFMCZ") {
            producer = line.split_whitespace().next().map(String::from);
        }
    }
    let (broker, url, token) = (broker.unwrap(), url.unwrap(), token.unwrap());
    let producer = producer.unwrap();

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

    every_curl_of_the_documents_answers_as_shown(&client, &url, &token, &producer);
}

/// Every `curl` of the README and `docs/`, sent as the shell would send it to this `kouan up`
/// (its address for `127.0.0.1:8080`, the `henan-elec` shipper's token for `$HENAN_ELEC_TOKEN`
/// and `$TOKEN`, its producer's for `$PRODUCER_TOKEN`): each answers 2xx with JSON, and the
/// answer a document shows after one is the answer.
fn every_curl_of_the_documents_answers_as_shown(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    producer: &str,
) {
    let vars = std::collections::HashMap::from([
        ("HENAN_ELEC_TOKEN", token.to_string()),
        ("TOKEN", token.to_string()),
        ("PRODUCER_TOKEN", producer.to_string()),
    ]);
    let mut sent = 0;
    for document in kouan_e2e::curls::documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        let name = document.strip_prefix(kouan_e2e::curls::root()).unwrap();
        let curls = kouan_e2e::curls::curls_in(&name.display().to_string(), &text, &vars)
            .unwrap_or_else(|error| panic!("{error}"));
        for curl in curls {
            let target = curl.url.replace("http://127.0.0.1:8080", url);
            let method = reqwest::Method::from_bytes(curl.method.as_bytes()).unwrap();
            let mut request = client.request(method, &target);
            for (name, value) in &curl.headers {
                request = request.header(name, value);
            }
            request = match &curl.body {
                Some(kouan_e2e::curls::Body::Text(text)) => request.body(text.clone()),
                Some(kouan_e2e::curls::Body::File(path)) => {
                    request.body(std::fs::read(kouan_e2e::curls::root().join(path)).unwrap())
                }
                None => request,
            };
            let response = request.send().unwrap();
            let status = response.status();
            let answer = response.text().unwrap();
            assert!(status.is_success(), "{}: {status} {answer}", curl.place);
            let json: serde_json::Value = serde_json::from_str(&answer)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {answer}", curl.place));
            if let Some(shown) = &curl.shown {
                assert_eq!(
                    &json, shown,
                    "{}: the answer is not the one shown",
                    curl.place
                );
            }
            sent += 1;
        }
    }
    assert!(sent >= 8, "only {sent} curls found in the documents");
}
