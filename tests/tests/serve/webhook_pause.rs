//! A deliverer paused (SIGSTOP) longer than the group's session timeout, in the middle of retrying
//! a batch its receiver refused, is replaced; when it runs again it POSTs nothing and writes no
//! progress until the group has told it what it owns now — the batch its replacement delivered
//! is not delivered twice.

use super::fixtures::*;
use kouan_e2e::*;
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A webhook receiver that refuses every POST (500) while told to, and keeps what it accepted.
struct Switched {
    url: String,
    refuse: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    accepted: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn switched() -> Switched {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (refuse, refused, accepted) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let (r, n, a) = (refuse.clone(), refused.clone(), accepted.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (r, n, a) = (r.clone(), n.clone(), a.clone());
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let status = if r.load(Ordering::SeqCst) {
                        n.fetch_add(1, Ordering::SeqCst);
                        "500 Internal Server Error"
                    } else {
                        a.lock().unwrap().push(body);
                        "200 OK"
                    };
                    let _ = write!(writer, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                    let _ = writer.flush();
                }
            });
        }
    });
    Switched {
        url,
        refuse,
        refused,
        accepted,
    }
}

const ASSIGNED: &str = "webhook deliveries assigned";

#[test]
fn a_deliverer_back_from_a_pause_delivers_nothing_its_replacement_did() {
    let (namespace, topics, publisher, dir) = setup("serve-webhook-pause");
    let auth = write_auth_file(&dir.0);
    let first = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let second = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let hook = switched();
    let (status, body) = post_json(
        &second,
        "/v1/subscriptions",
        &shipper_token(1),
        serde_json::json!({"callbackUrl": hook.url, "secret": "a-webhook-secret-of-some-length"}),
    );
    assert_eq!(status, 201, "{body}");
    let eventually = |what: &str, check: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !check() {
            assert!(started.elapsed() < Duration::from_secs(90), "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let publish = |versions: std::ops::RangeInclusive<u64>| {
        for version in versions {
            publish_status(
                &publisher,
                &topics,
                &simple("P1", 1, version as usize),
                version,
            );
        }
        publisher.flush(Duration::from_secs(30)).unwrap();
    };
    let delivered = || -> BTreeMap<u64, usize> {
        let mut out = BTreeMap::new();
        for body in hook.accepted.lock().unwrap().iter() {
            let records: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
            for record in records {
                *out.entry(record["version"].as_u64().unwrap()).or_default() += 1;
            }
        }
        out
    };

    publish(1..=3);
    eventually("1–3 delivered", &|| delivered().contains_key(&3));
    let (paused, survivor) = if deliveries(&first, "ok") > 0 {
        (first, second)
    } else {
        (second, first)
    };

    // the receiver refuses 4–6: the deliverer holds that batch, retrying
    hook.refuse.store(true, Ordering::SeqCst);
    publish(4..=6);
    eventually("the deliverer retries 4–6", &|| {
        deliveries(&paused, "failed") >= 2 && hook.refused.load(Ordering::SeqCst) >= 2
    });

    // paused past the session timeout, mid-retry; the receiver recovers; the survivor takes over
    paused.service.signal("STOP");
    hook.refuse.store(false, Ordering::SeqCst);
    eventually("the survivor delivers 4–6", &|| {
        delivered().contains_key(&6)
    });
    assert!(deliveries(&survivor, "ok") > 0);

    // back: its retry is due at once, but nothing is POSTed before the group has spoken
    let assignments = paused.service.log_lines(ASSIGNED);
    paused.service.signal("CONT");
    eventually("the paused replica hears from the group", &|| {
        paused.service.log_lines(ASSIGNED) > assignments
    });

    // and the subscription goes on, every change after the handover delivered once
    publish(7..=9);
    eventually("7–9 delivered", &|| delivered().contains_key(&9));
    let counts = delivered();
    for version in 4..=9 {
        assert_eq!(
            counts.get(&version),
            Some(&1),
            "version {version}: {counts:?}"
        );
    }
}
