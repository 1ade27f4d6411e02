//! What a hostile tenant tries: webhooks to internal addresses in every spelling, oversized
//! secrets, URLs and filters, more subscriptions than allowed, resume tokens naming more partitions
//! than the topics have, more feeds than allowed, bodies over the limit, and SQL text long enough
//! to flood the audit log. The server was started with `--webhook-allow 127.0.0.9`,
//! `--max-subscriptions-per-shipper 2` and `--max-feed-clients 1`.

use super::fixtures::*;
use kouan_e2e::*;

fn subscribe(serve: &Serve, token: &str, body: serde_json::Value) -> (u16, String) {
    post_json(serve, "/v1/subscriptions", token, body)
}

/// Loopback, private, link-local and metadata addresses are refused in every spelling; the
/// allowed address is accepted.
pub fn webhook_destinations(serve: &Serve) {
    let shipper = shipper_token(2);
    for refused in [
        "http://127.0.0.1:8080/hook",
        "http://2130706433/hook",
        "http://0x7f.0.0.1/hook",
        "http://127.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://192.168.0.10/hook",
        "http://0.0.0.0/hook",
    ] {
        let (status, body) = subscribe(
            serve,
            &shipper,
            serde_json::json!({"callbackUrl": refused, "secret": "0123456789abcdef"}),
        );
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(
            error_of(&body).starts_with("callbackUrl"),
            "{refused}: {body}"
        );
    }
    let (status, body) = subscribe(
        serve,
        &shipper,
        serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook", "secret": "0123456789abcdef"}),
    );
    assert_eq!(status, 201, "{body}");
    delete_all_subscriptions(serve, &shipper);
}

/// Secret, URL and filters of at most 1 KB; at most two subscriptions for a shipper.
pub fn webhook_limits(serve: &Serve) {
    let shipper = shipper_token(2);
    let huge_secret = "s".repeat(1_500_000);
    let long_url = format!("http://127.0.0.9/{}", "p".repeat(2000));
    for (body, field) in [
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.9/hook", "secret": huge_secret}),
            "secret",
        ),
        (
            serde_json::json!({"callbackUrl": long_url, "secret": "0123456789abcdef"}),
            "callbackUrl",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.9/hook", "secret": "0123456789abcdef", "filters": {"shipmentId": "S".repeat(2000)}}),
            "filters.shipmentId",
        ),
    ] {
        let (status, text) = subscribe(serve, &shipper, body);
        assert_eq!(status, 400, "{field}: {text}");
        assert!(error_of(&text).starts_with(field), "{field}: {text}");
        assert!(!text.contains("MessageSizeTooLarge"), "{text}");
    }
    let ok =
        serde_json::json!({"callbackUrl": "http://127.0.0.9/hook", "secret": "0123456789abcdef"});
    for _ in 0..2 {
        assert_eq!(subscribe(serve, &shipper, ok.clone()).0, 201);
    }
    let (status, text) = subscribe(serve, &shipper, ok.clone());
    assert_eq!(status, 429, "{text}");
    assert!(error_of(&text).contains("at most 2"), "{text}");
    // another shipper has its own allowance; operators are not limited
    assert_eq!(subscribe(serve, &shipper_token(1), ok.clone()).0, 201);
    delete_all_subscriptions(serve, &shipper);
    delete_all_subscriptions(serve, &shipper_token(1));
}

fn delete_all_subscriptions(serve: &Serve, token: &str) {
    let listed = get_json(serve, "/v1/subscriptions", token);
    for item in listed["items"].as_array().unwrap() {
        let status = client()
            .delete(format!(
                "{}/v1/subscriptions/{}",
                serve.url,
                item["id"].as_str().unwrap()
            ))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 204);
    }
}

/// A resume token naming more partitions than the topics have is refused before any work, and
/// the feed takes no more clients than allowed.
pub fn feed_tokens_and_clients(serve: &Serve) {
    let feed = |token: &str| {
        let response = client()
            .get(format!("{}/v1/feed", serve.url))
            .bearer_auth(OPERATOR_TOKEN)
            .header("Last-Event-ID", token)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            if status == 200 {
                String::new()
            } else {
                response.text().unwrap()
            },
        )
    };
    let many = vec!["0"; 10_000].join(".");
    for token in [
        format!("s={many}~a="),
        "s=0.0.0.0.0~a=".to_string(),
        "s=x~a=".to_string(),
    ] {
        let (status, body) = feed(&token);
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("Last-Event-ID"), "{body}");
    }
    let (_events, _guard) = open_feed(serve, OPERATOR_TOKEN, Some("s=0.0.0.0~a=0.0.0.0"));
    let (status, body) = get(serve, "/v1/feed", Some(OPERATOR_TOKEN));
    assert_eq!(status, 503, "{body}");
    assert!(error_of(&body).contains("feed"), "{body}");
}

/// Bodies over the server's limit are refused with the JSON error of API.md.
pub fn bodies_over_the_limit(serve: &Serve) {
    let response = client()
        .post(format!("{}/v1/sql", serve.url))
        .bearer_auth(OPERATOR_TOKEN)
        .header("Content-Type", "application/json")
        .body(vec![b' '; 3 << 20])
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body = response.text().unwrap();
    assert!(!error_of(&body).is_empty(), "{body}");
}

/// The audit line keeps at most 1 KB of SQL, with the whole text's length and hash.
pub fn long_sql_in_the_audit_line(serve: &Serve) {
    let marker = "audit-marker-7f3a";
    let sql = format!("SELECT 1 AS x /* {marker} {} */", "y".repeat(3000));
    let (status, body) = post_json(
        serve,
        "/v1/sql",
        OPERATOR_TOKEN,
        serde_json::json!({ "sql": sql }),
    );
    assert_eq!(status, 200, "{body}");
    // the audit line may reach the log a moment after the answer
    serve
        .service
        .await_log(marker, std::time::Duration::from_secs(10));
    let line = serve
        .service
        .last_log_line(marker)
        .expect("the query is audited");
    let audit: serde_json::Value = serde_json::from_str(&line).unwrap();
    let fields = &audit["fields"];
    assert!(fields["sql"].as_str().unwrap().len() <= 1024, "{fields}");
    assert_eq!(fields["sql_bytes"], sql.len() as u64, "{fields}");
    assert_eq!(fields["sql_sha256"].as_str().unwrap().len(), 64, "{fields}");
}

/// Whether the server closes `stream` (EOF or reset) within `within`, reading with a socket
/// timeout rather than sleeping.
fn closed_within(stream: &mut std::net::TcpStream, within: std::time::Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buffer = [0u8; 512];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            // an answer (a 408, say) may come before the close
            Ok(_) => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_clients_are_cut_off_and_connections_are_capped() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;
    let (namespace, _topics, _publisher, dir) = setup("serve-http-limits");
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(
        &namespace,
        &auth,
        &["--header-read-timeout", "1s", "--max-connections", "2"],
    );
    let address = serve
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    // half a request, then silence: disconnected after the header deadline
    let mut half = TcpStream::connect(&address).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: kouan\r\n")
        .unwrap();
    // a connection that says nothing at all
    let mut silent = TcpStream::connect(&address).unwrap();
    // a third while both are open: over the cap, closed at once
    let mut third = TcpStream::connect(&address).unwrap();
    assert!(
        closed_within(&mut third, Duration::from_secs(5)),
        "the third connection stayed open"
    );
    assert!(
        closed_within(&mut half, Duration::from_secs(10)),
        "a half-sent request stayed open"
    );
    assert!(
        closed_within(&mut silent, Duration::from_secs(10)),
        "a silent connection stayed open"
    );
    // with those gone, requests are served again
    let started = std::time::Instant::now();
    loop {
        if let Ok(response) = client().get(format!("{}/healthz", serve.url)).send() {
            assert_eq!(response.status().as_u16(), 200);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server never answered again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Resident memory of a process, bytes.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// The memory bound, measured from outside: a `string_agg` over a cross join (the probe of the
/// issue) is refused, and the server's resident memory grows by at most the limit and a margin
/// while it runs.
#[test]
fn the_sql_memory_bound_holds_for_the_whole_query() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    const LIMIT_MIB: u64 = 32;
    const MARGIN_MIB: u64 = 64;
    let (namespace, topics, publisher, dir) = setup("serve-sql-memory");
    for i in 0..2_000 {
        publish_status(
            &publisher,
            &topics,
            &simple(&format!("M{i:05}"), i % 3, i),
            1,
        );
    }
    publisher.flush(Duration::from_secs(30)).unwrap();
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(
        &namespace,
        &auth,
        &["--sql-memory-mib", &LIMIT_MIB.to_string()],
    );
    let count = || {
        let (_, body) = post_json(
            &serve,
            "/v1/sql",
            OPERATOR_TOKEN,
            serde_json::json!({"sql": "SELECT count(*) FROM shipments"}),
        );
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["rows"][0][0].as_u64()
    };
    let started = std::time::Instant::now();
    while count() != Some(2_000) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the store never had every record"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // the peak of the server's resident memory while the query runs, sampled from outside
    let pid = serve.service.pid();
    let before = resident_bytes(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running) = (peak.clone(), running.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max(resident_bytes(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let (status, body) = post_json(
        &serve,
        "/v1/sql",
        OPERATOR_TOKEN,
        serde_json::json!({"sql": "SELECT length(string_agg(a.shipment_id || b.shipment_id || a.shipper, ',')) AS n FROM shipments a CROSS JOIN shipments b"}),
    );
    running.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let grown_mib = peak.load(Ordering::Relaxed).saturating_sub(before) >> 20;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).starts_with("sql:"), "{body}");
    assert!(
        grown_mib <= LIMIT_MIB + MARGIN_MIB,
        "the server grew {grown_mib} MiB for a query allowed {LIMIT_MIB} MiB"
    );
    // and it still answers
    assert_eq!(count(), Some(2_000));
}
