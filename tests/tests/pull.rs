//! `kouan pull dcsa` against a carrier's T&T 2.2 API (a small stand-in server here: cursor
//! pages, `Next-Page`, the `eventCreatedDateTime:gte` filter, a bearer token) and the real
//! broker: killed with SIGKILL while it waits for a page, it resumes from its committed cursor,
//! and every event of the carrier is on the event topics exactly once.

use kouan_bus::Topics;
use kouan_e2e::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

const TOKEN: &str = "carrier-api-token";
const PAGE: usize = 40;

/// The carrier: its events (oldest first), the requests it was sent, and a gate that holds the
/// answer to the third page until opened.
#[derive(Default)]
struct Carrier {
    events: Mutex<Vec<serde_json::Value>>,
    requests: Mutex<Vec<String>>,
    gate_open: Mutex<bool>,
    gate: Condvar,
}

fn event(index: usize) -> serde_json::Value {
    // three events a minute: several share a creation time, as a carrier's batch does
    let minute = index / 3;
    serde_json::json!({
        "eventID": format!("00000000-0000-4000-8000-{index:012}"),
        "eventType": "EQUIPMENT",
        "eventClassifierCode": "ACT",
        "eventDateTime": format!("2026-11-20T{:02}:{:02}:00+08:00", 6 + minute / 60, minute % 60),
        "eventCreatedDateTime": format!("2026-11-20T{:02}:{:02}:30+08:00", 6 + minute / 60, minute % 60),
        "equipmentEventTypeCode": if index.is_multiple_of(2) { "GTIN" } else { "GTOT" },
        "equipmentReference": "CSQU3054383",
        "emptyIndicatorCode": "LADEN",
        "transportCall": {"modeOfTransport": "RAIL", "exportVoyageNumber": "X8001-20261120", "UNLocationCode": "CNZZP"}
    })
}

fn query_value(query: &str, key: &str) -> Option<String> {
    url_decode(query)
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")).map(String::from))
}

fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

impl Carrier {
    fn answer(&self, target: &str, authorized: bool) -> (u16, Option<String>, String) {
        if !authorized {
            return (401, None, r#"{"errors":[]}"#.into());
        }
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let events = self.events.lock().unwrap().clone();
        let start = match query_value(query, "cursor") {
            Some(cursor) => cursor.parse::<usize>().unwrap(),
            None => match query_value(query, "eventCreatedDateTime:gte") {
                Some(after) => {
                    let after = kouan_model::Timestamp::parse(&after).unwrap();
                    events
                        .iter()
                        .position(|e| {
                            kouan_model::Timestamp::parse(
                                e["eventCreatedDateTime"].as_str().unwrap(),
                            )
                            .unwrap()
                                >= after
                        })
                        .unwrap_or(events.len())
                }
                None => 0,
            },
        };
        let limit: usize = query_value(query, "limit")
            .map_or(100, |l| l.parse().unwrap())
            .min(PAGE);
        let end = (start + limit).min(events.len());
        let next = (end < events.len()).then(|| end.to_string());
        (
            200,
            next,
            serde_json::to_string(&events[start..end]).unwrap(),
        )
    }

    fn serve(self: Arc<Self>, listener: TcpListener) {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let carrier = self.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut authorized = false;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if header.to_ascii_lowercase().starts_with("authorization:")
                        && header.trim_end().ends_with(&format!("Bearer {TOKEN}"))
                    {
                        authorized = true;
                    }
                }
                let index = {
                    let mut requests = carrier.requests.lock().unwrap();
                    requests.push(target.clone());
                    requests.len()
                };
                if index == 3 {
                    let mut open = carrier.gate_open.lock().unwrap();
                    while !*open {
                        open = carrier.gate.wait(open).unwrap();
                    }
                }
                let (status, next, body) = carrier.answer(&target, authorized);
                let next = next.map_or(String::new(), |n| format!("Next-Page: {n}\r\n"));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nAPI-Version: 2.2.0\r\n{next}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    }
}

fn carrier_ids(brokers: &str, topics: &Topics) -> Vec<String> {
    let mut ids: Vec<String> = read_events(brokers, topics)
        .into_iter()
        .filter(|event| &*event.source == "carrier-x")
        .map(|event| event.event_id.to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_killed_poller_resumes_from_its_cursor_and_takes_every_event_once() {
    let namespace = unique_namespace("pull-dcsa");
    let topics = Topics::new(namespace.clone());
    let carrier = Arc::new(Carrier::default());
    *carrier.events.lock().unwrap() = (0..200).map(event).collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tnt", listener.local_addr().unwrap());
    std::thread::spawn({
        let carrier = carrier.clone();
        move || carrier.serve(listener)
    });
    let brokers = brokers();
    let args = [
        "pull",
        "dcsa",
        "--brokers",
        &brokers,
        "--url",
        &url,
        "--token",
        TOKEN,
        "--source",
        "carrier-x",
        "--limit",
        "40",
        "--every",
        "1s",
    ];

    // the first run commits two pages, then waits for the third: killed there
    let poller = Service::start(&namespace, &args);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while carrier.requests.lock().unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the poller never asked for page 3"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    poller.await_log("\"pull: page committed\"", Duration::from_secs(30));
    poller.kill_hard();
    let first: Vec<String> = carrier.requests.lock().unwrap().clone();
    assert!(first[0].contains("sort=eventCreatedDateTime"), "{first:?}");
    assert!(
        !first[0].contains("gte"),
        "a new poller starts at the beginning: {first:?}"
    );
    assert_eq!(
        carrier_ids(&brokers, &topics).len(),
        80,
        "two pages committed"
    );

    // the carrier goes on; a new run resumes from the stored cursor and stops when done
    carrier.events.lock().unwrap().extend((200..230).map(event));
    *carrier.gate_open.lock().unwrap() = true;
    carrier.gate.notify_all();
    let resumed = kouan(&namespace).args(args).arg("--once").output().unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    let requests = carrier.requests.lock().unwrap().clone();
    let restart = &requests[3];
    // page 2 ended with event 79, created at 06:26:30: asked again from there
    assert!(
        url_decode(restart).contains("eventCreatedDateTime:gte=2026-11-20T06:26:30+08:00"),
        "{restart}"
    );
    assert!(stderr.contains("pull: 150 taken, 0 rejected"), "{stderr}");

    let ids = carrier_ids(&brokers, &topics);
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an event was published twice");
    assert_eq!(ids.len(), 230);

    // a token the carrier refuses stops the poller with the carrier's answer
    let refused = kouan(&namespace)
        .args([
            "pull",
            "dcsa",
            "--brokers",
            &brokers,
            "--url",
            &url,
            "--token",
            "wrong-token",
        ])
        .args(["--source", "carrier-x", "--name", "other", "--once"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
}
