//! DCSA T&T subscriptions on the real broker: created, read, listed, changed and deleted as DCSA
//! defines them; every event of the owner's shipments that passes the filters is POSTed signed
//! with the decoded secret, in order, through a receiver that refuses every third request and a
//! kill -9 of the deliverer, nothing lost; another shipper's events never.

use super::fixtures::*;
use base64::Engine;
use kouan_e2e::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn verify(key: &[u8], body: &[u8], signature: &str) -> bool {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    signature == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn request(
    serve: &Serve,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let (status, headers, json) = exchange(
        serve,
        method,
        path,
        token,
        body.map(|b| ("application/json", b)),
    );
    assert_eq!(headers["api-version"], "2.2.0");
    (status, json)
}

#[test]
fn dcsa_subscriptions_deliver_signed_in_order_through_a_kill_9() {
    let (namespace, topics, publisher, dir) = setup("serve-dcsa-sub");
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let hook = receiver();
    let key: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
    let secret = base64::engine::general_purpose::STANDARD.encode(&key);
    let owner = shipper_token(1);
    let path = "/dcsa/tnt/v2/event-subscriptions";

    // refused as DCSA says, naming the field
    let (status, error) = request(
        &serve,
        reqwest::Method::POST,
        path,
        &owner,
        Some(serde_json::json!({"callbackUrl": hook.url, "secret": "not base64!"})),
    );
    assert_eq!(status, 400);
    assert!(
        error["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("secret"),
        "{error}"
    );
    let (status, error) = request(
        &serve,
        reqwest::Method::POST,
        path,
        &owner,
        Some(serde_json::json!({"callbackUrl": hook.url, "secret": secret, "eventType": ["AIR"]})),
    );
    assert_eq!(status, 400, "{error}");

    let (status, created) = request(
        &serve,
        reqwest::Method::POST,
        path,
        &owner,
        Some(
            serde_json::json!({"callbackUrl": hook.url, "secret": secret, "eventType": ["SHIPMENT"]}),
        ),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["subscriptionID"].as_str().unwrap().to_string();
    assert!(created.get("secret").is_none(), "the secret is never shown");
    // changed to equipment events only
    let (status, changed) = request(
        &serve,
        reqwest::Method::PUT,
        &format!("{path}/{id}"),
        &owner,
        Some(serde_json::json!({"callbackUrl": hook.url, "eventType": ["EQUIPMENT"]})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["eventType"], serde_json::json!(["EQUIPMENT"]));
    let (status, read) = request(
        &serve,
        reqwest::Method::GET,
        &format!("{path}/{id}"),
        &owner,
        None,
    );
    assert_eq!((status, &read), (200, &changed));
    let (status, listed) = request(&serve, reqwest::Method::GET, path, &owner, None);
    assert_eq!((status, listed), (200, serde_json::json!([changed])));
    // another shipper neither sees nor changes it
    let (status, _) = request(
        &serve,
        reqwest::Method::GET,
        &format!("{path}/{id}"),
        &shipper_token(2),
        None,
    );
    assert_eq!(status, 404);
    let (status, _) = request(
        &serve,
        reqwest::Method::DELETE,
        &format!("{path}/{id}"),
        &shipper_token(2),
        None,
    );
    assert_eq!(status, 404);
    let (_, listed) = request(&serve, reqwest::Method::GET, path, &shipper_token(2), None);
    assert_eq!(listed, serde_json::json!([]));

    let publish = |versions: std::ops::RangeInclusive<u64>| {
        for version in versions {
            for i in 0..4 {
                let shipper = format!("SHIPPER-{}", 1 + i % 2);
                publish_status(
                    &publisher,
                    &topics,
                    &rail_shipment(&format!("DS{i}"), &shipper, version),
                    version,
                );
            }
        }
        publisher.flush(Duration::from_secs(30)).unwrap();
    };
    // what the receiver accepted: per booking, its events' ids in arrival order (first time)
    let delivered = |keys: &[&[u8]]| -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (headers, body) in hook.accepted.lock().unwrap().iter() {
            let signature = &headers["notification-signature"];
            assert!(
                keys.iter().any(|k| verify(k, body, signature)),
                "bad signature"
            );
            assert_eq!(headers["subscription-id"], id);
            assert_eq!(headers["api-version"], "2.2.0");
            let events: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
            for event in events {
                assert_eq!(event["eventType"], "EQUIPMENT", "{event}");
                let booking = event["documentReferences"][0]["documentReferenceValue"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let ids = out.entry(booking).or_default();
                let event_id = event["eventID"].as_str().unwrap().to_string();
                if !ids.contains(&event_id) {
                    ids.push(event_id);
                }
            }
        }
        out
    };
    let want = |versions: u64| -> BTreeMap<String, Vec<String>> {
        ["DS0", "DS2"]
            .iter()
            .map(|booking| {
                let ids = (1..=versions)
                    .map(|i| {
                        kouan_standards::dcsa::write::event_uuid("yard", &format!("{booking}-{i}"))
                    })
                    .collect();
                (booking.to_string(), ids)
            })
            .collect()
    };
    let await_delivered = |want: &BTreeMap<String, Vec<String>>, keys: &[&[u8]]| {
        let started = Instant::now();
        loop {
            let got = delivered(keys);
            if &got == want {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "delivered {got:?}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    for slice in [1..=2, 3..=4] {
        publish(slice);
        std::thread::sleep(Duration::from_millis(300));
    }
    await_delivered(&want(4), &[&key]);
    assert!(
        hook.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "failures were injected"
    );

    // kill -9 of the deliverer with more to send; a new replica takes over from the progress
    serve.service.kill_hard();
    publish(5..=7);
    let serve = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    await_delivered(&want(7), &[&key]);

    // a new secret signs what follows
    let new_key: Vec<u8> = (0u8..24).map(|i| i ^ 0x5a).collect();
    let (status, _) = request(
        &serve,
        reqwest::Method::PUT,
        &format!("{path}/{id}/secret"),
        &owner,
        Some(
            serde_json::json!({"secret": base64::engine::general_purpose::STANDARD.encode(&new_key)}),
        ),
    );
    assert_eq!(status, 204);
    let before = hook.accepted.lock().unwrap().len();
    publish(8..=9);
    await_delivered(&want(9), &[&key, &new_key]);
    for (headers, body) in hook.accepted.lock().unwrap().iter().skip(before) {
        let events: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap();
        let new = events.iter().all(|e| {
            let id = e["eventID"].as_str().unwrap();
            want(7).values().all(|ids| !ids.iter().any(|old| old == id))
        });
        if new {
            assert!(
                verify(&new_key, body, &headers["notification-signature"]),
                "not signed with the new secret"
            );
        }
    }

    // deleted: gone for its owner
    let (status, _) = request(
        &serve,
        reqwest::Method::DELETE,
        &format!("{path}/{id}"),
        &owner,
        None,
    );
    assert_eq!(status, 204);
    let (status, _) = request(
        &serve,
        reqwest::Method::GET,
        &format!("{path}/{id}"),
        &owner,
        None,
    );
    assert_eq!(status, 404);
}
