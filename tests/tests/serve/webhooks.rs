//! Webhooks: signed, ordered, retried deliveries that survive a restart.

use super::fixtures::*;
use kouan_e2e::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn webhooks_are_signed_ordered_retried_and_survive_a_restart() {
    let (namespace, topics, publisher, dir) = setup("serve-webhook");
    let auth = write_auth_file(&dir.0);
    // the receivers listen on loopback, which webhooks may reach only when allowed
    let serve = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let hook = receiver();
    let secret = "a-webhook-secret-of-some-length";
    let (status, body) = post_json(
        &serve,
        "/v1/subscriptions",
        &shipper_token(1),
        serde_json::json!({"callbackUrl": hook.url, "secret": secret}),
    );
    assert_eq!(status, 201, "{body}");
    let subscription = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let publish = |versions: std::ops::RangeInclusive<u64>| {
        for version in versions {
            for i in 0..6 {
                publish_status(
                    &publisher,
                    &topics,
                    &simple(&format!("W{i}"), 1 + i % 2, version as usize),
                    version,
                );
            }
        }
        publisher.flush(Duration::from_secs(30)).unwrap();
    };
    // what the receiver accepted, per shipment, in arrival order
    let delivered = || -> BTreeMap<String, Vec<u64>> {
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (headers, body) in hook.accepted.lock().unwrap().iter() {
            assert!(
                verify(secret, body, &headers["notification-signature"]),
                "bad signature"
            );
            assert_eq!(headers["subscription-id"], subscription);
            assert_eq!(headers["content-type"], "application/json");
            let records: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
            assert!(!records.is_empty());
            for record in records {
                out.entry(record["shipmentId"].as_str().unwrap().to_string())
                    .or_default()
                    .push(record["version"].as_u64().unwrap());
            }
        }
        out
    };
    let await_delivered = |want: &BTreeMap<String, Vec<u64>>| {
        let started = Instant::now();
        loop {
            let got = delivered();
            if &got == want {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "delivered {got:?}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // publish in slices so deliveries are several batches, some of them refused
    for slice in [1..=2, 3..=4, 5..=6] {
        publish(slice);
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut want: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in [0, 2, 4] {
        want.insert(format!("W{i}"), (1..=6).collect());
    }
    await_delivered(&want);
    assert!(
        hook.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "failures were injected"
    );

    // a clean restart: the subscription and its progress come back from the topic
    let mut serve = serve;
    serve.service.terminate();
    drop(serve);
    publish(7..=8);
    // the receivers listen on loopback, which webhooks may reach only when allowed
    let serve = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let listed = get_json(&serve, "/v1/subscriptions", &shipper_token(1));
    assert_eq!(listed["items"][0]["id"], subscription);
    for versions in want.values_mut() {
        versions.extend([7, 8]);
    }
    await_delivered(&want);
}

#[test]
fn a_destination_failing_too_long_is_paused_and_shown_so() {
    let (namespace, topics, publisher, dir) = setup("serve-webhook-pause");
    let auth = write_auth_file(&dir.0);
    let mut args = ALLOW_LOOPBACK.to_vec();
    args.extend(["--webhook-pause-after", "2s"]);
    let serve = Serve::start(&namespace, &auth, &args);
    // nothing listens there: every attempt fails
    let closed = format!("http://127.0.0.1:{}/hooks", free_port());
    let (status, body) = post_json(
        &serve,
        "/v1/subscriptions",
        &shipper_token(1),
        serde_json::json!({"callbackUrl": closed, "secret": "a-webhook-secret-of-some-length"}),
    );
    assert_eq!(status, 201, "{body}");
    publish_status(&publisher, &topics, &simple("P1", 1, 0), 1);
    publisher.flush(Duration::from_secs(30)).unwrap();
    let started = Instant::now();
    let listed = loop {
        let listed = get_json(&serve, "/v1/subscriptions", &shipper_token(1));
        if listed["items"][0]["state"] == "PAUSED" {
            break listed;
        }
        assert_eq!(listed["items"][0]["state"], "ACTIVE", "{listed}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never paused: {listed}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let item = &listed["items"][0];
    assert!(item["pausedAt"].is_string(), "{item}");
    assert!(!item["lastFailure"].as_str().unwrap().is_empty(), "{item}");
    // the pause is recorded on the topic: a restarted server still shows it
    let mut serve = serve;
    serve.service.terminate();
    drop(serve);
    let serve = Serve::start(&namespace, &auth, &args);
    let listed = get_json(&serve, "/v1/subscriptions", &shipper_token(1));
    assert_eq!(listed["items"][0]["state"], "PAUSED", "{listed}");
    // its owner resumes it; another shipper cannot
    let id = listed["items"][0]["id"].as_str().unwrap().to_string();
    let resume = |token: &str| {
        post_json(
            &serve,
            &format!("/v1/subscriptions/{id}/resume"),
            token,
            serde_json::json!({}),
        )
    };
    assert_eq!(resume(&shipper_token(2)).0, 404);
    let (status, body) = resume(&shipper_token(1));
    assert_eq!(status, 200, "{body}");
    let resumed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(resumed["state"], "ACTIVE", "{resumed}");
}
