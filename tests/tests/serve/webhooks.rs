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

/// Two replicas: a subscription created on one is listed by both and delivered by exactly one
/// (the group decides); one deleted on either stops everywhere; the deliverer killed with
/// SIGKILL, the other takes over and resumes in order with nothing skipped.
#[test]
fn one_replica_delivers_each_subscription_and_another_takes_over() {
    let (namespace, topics, publisher, dir) = setup("serve-webhook-replicas");
    let auth = write_auth_file(&dir.0);
    let first = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let second = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let secret = "a-webhook-secret-of-some-length";
    let subscribe = |serve: &Serve, url: &str| -> String {
        let (status, body) = post_json(
            serve,
            "/v1/subscriptions",
            &shipper_token(1),
            serde_json::json!({"callbackUrl": url, "secret": secret}),
        );
        assert_eq!(status, 201, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let listed = |serve: &Serve| -> Vec<String> {
        get_json(serve, "/v1/subscriptions", &shipper_token(1))["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_string())
            .collect()
    };
    let eventually = |what: &str, check: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !check() {
            assert!(started.elapsed() < Duration::from_secs(60), "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
        started.elapsed()
    };
    let publish = |versions: std::ops::RangeInclusive<u64>| {
        for version in versions {
            for i in [1, 3] {
                publish_status(
                    &publisher,
                    &topics,
                    &simple(&format!("R{i}"), 1, version as usize),
                    version,
                );
            }
        }
        publisher.flush(Duration::from_secs(30)).unwrap();
    };
    let versions = |hook: &Receiver| -> BTreeMap<String, Vec<u64>> {
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (_, body) in hook.accepted.lock().unwrap().iter() {
            let records: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
            for record in records {
                out.entry(record["shipmentId"].as_str().unwrap().to_string())
                    .or_default()
                    .push(record["version"].as_u64().unwrap());
            }
        }
        out
    };

    // created on the first replica, deleted on the second: gone everywhere, delivered nowhere
    let dropped_hook = receiver();
    let dropped = subscribe(&first, &dropped_hook.url);
    eventually("the second replica lists it", &|| {
        listed(&second).contains(&dropped)
    });
    let (status, body) = delete(
        &second,
        &format!("/v1/subscriptions/{dropped}"),
        &shipper_token(1),
    );
    assert_eq!(status, 204, "{body}");
    eventually("the first replica forgets it", &|| {
        !listed(&first).contains(&dropped)
    });

    // created on the second replica: exactly one replica delivers, each change once
    let hook = receiver();
    let subscription = subscribe(&second, &hook.url);
    eventually("the first replica lists it", &|| {
        listed(&first).contains(&subscription)
    });
    publish(1..=3);
    let want: BTreeMap<String, Vec<u64>> = ["R1", "R3"]
        .into_iter()
        .map(|id| (id.to_string(), (1..=3).collect()))
        .collect();
    eventually("delivered once each, in order", &|| versions(&hook) == want);
    assert!(
        dropped_hook.accepted.lock().unwrap().is_empty(),
        "a deleted subscription delivered nothing"
    );
    let (by_first, by_second) = (deliveries(&first, "ok"), deliveries(&second, "ok"));
    assert!(
        (by_first == 0) != (by_second == 0),
        "one deliverer: {by_first} and {by_second} deliveries"
    );

    // the deliverer dies; the survivor takes over where the progress says, in order
    let (deliverer, survivor) = if by_first > 0 {
        (first, second)
    } else {
        (second, first)
    };
    deliverer.service.kill_hard();
    let killed = Instant::now();
    publish(4..=6);
    eventually("the survivor delivers the rest", &|| {
        versions(&hook).values().all(|v| v.last() == Some(&6))
    });
    let failover = killed.elapsed();
    println!(
        "webhook failover: {:.1} s from kill -9 to the last change delivered",
        failover.as_secs_f64()
    );
    for (shipment, delivered) in versions(&hook) {
        let mut first_seen = delivered.clone();
        let mut seen = std::collections::BTreeSet::new();
        first_seen.retain(|v| seen.insert(*v));
        assert_eq!(
            first_seen,
            (1..=6).collect::<Vec<_>>(),
            "{shipment}: {delivered:?}"
        );
        // at least once: at most the batch before the kill comes again
        assert!(delivered.len() <= 9, "{shipment}: {delivered:?}");
        assert!(delivered.ends_with(&[4, 5, 6]), "{shipment}: {delivered:?}");
    }
    assert!(deliveries(&survivor, "ok") > 0);
}
