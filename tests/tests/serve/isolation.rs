//! Shipper isolation under randomized records: no answer, feed or alert shows another
//! shipper's data.

use super::fixtures::*;
use kouan_e2e::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[test]
fn shippers_never_see_each_other_randomized() {
    use rand::{Rng, SeedableRng};
    let (namespace, topics, publisher, dir) = setup("serve-isolation");
    let auth = write_auth_file(&dir.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let serve = Serve::start(&namespace, &auth, &[]);
    let feeds: Vec<_> = (0..5)
        .map(|s| open_feed(&serve, &shipper_token(s), None))
        .collect();

    // random shipments and versions; some shipments change shipper on a later booking update
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut ever: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for round in 0..200u64 {
        let id = format!("ISO{:03}", rng.random_range(0..60));
        let shipper = match owner.get(&id) {
            Some(s) if rng.random_bool(0.9) => *s,
            _ => rng.random_range(0..5),
        };
        owner.insert(id.clone(), shipper);
        ever.entry(id.clone()).or_default().insert(shipper);
        let version = round + 1;
        publish_status(
            &publisher,
            &topics,
            &simple(&id, shipper, rng.random_range(0..4)),
            version,
        );
        if rng.random_bool(0.2) {
            publish_alert(
                &publisher,
                &topics,
                &id,
                &format!("SHIPPER-{shipper}"),
                rng.random_bool(0.5),
            );
        }
    }
    for s in 0..5 {
        publish_status(&publisher, &topics, &simple(&format!("END-{s}"), s, 0), 1);
    }
    publisher.flush(Duration::from_secs(30)).unwrap();

    // ids a shipper must never meet: shipments it never owned
    let foreign = |s: usize| -> Vec<String> {
        ever.iter()
            .filter(|(_, owners)| !owners.contains(&s))
            .map(|(id, _)| id.clone())
            .collect()
    };
    for (s, (feed, _guard)) in feeds.iter().enumerate() {
        let events = read_until(feed, &format!("END-{s}"));
        for event in &events {
            let text = event.data.to_string();
            for id in foreign(s) {
                assert!(
                    !text.contains(&id),
                    "shipper {s}'s feed showed {id}: {text}"
                );
            }
            assert!(text.contains(&format!("SHIPPER-{s}")), "{text}");
        }
    }
    for s in 0..5 {
        let token = shipper_token(s);
        let mut answers = vec![];
        let list = walk(&serve, "/v1/shipments?limit=5", &token);
        let listed: BTreeSet<String> = list
            .iter()
            .map(|r| r["shipmentId"].as_str().unwrap().to_string())
            .collect();
        let expected: BTreeSet<String> = owner
            .iter()
            .filter(|(_, o)| **o == s)
            .map(|(id, _)| id.clone())
            .chain([format!("END-{s}")])
            .collect();
        assert_eq!(
            listed, expected,
            "shipper {s} lists exactly its current shipments"
        );
        answers.push(serde_json::to_string(&list).unwrap());
        answers.push(serde_json::to_string(&walk(&serve, "/v1/alerts", &token)).unwrap());
        answers.push(get(&serve, "/v1/kpis/clearance?groupBy=mode", Some(&token)).1);
        for id in owner.keys() {
            let (status, body) = get(&serve, &format!("/v1/shipments/{id}"), Some(&token));
            assert_eq!(
                status == 200,
                owner[id] == s,
                "{id} for shipper {s}: {status}"
            );
            answers.push(body);
        }
        answers.push(
            post_json(
                &serve,
                "/v1/sql",
                &token,
                serde_json::json!({"sql": "SELECT * FROM shipments"}),
            )
            .1,
        );
        answers.push(
            get(
                &serve,
                "/v1/shipments?shipper=SHIPPER-0&limit=1000",
                Some(&token),
            )
            .1,
        );
        let now_foreign: Vec<&String> = owner
            .iter()
            .filter(|(_, o)| **o != s)
            .map(|(id, _)| id)
            .collect();
        for answer in &answers {
            for id in &now_foreign {
                assert!(
                    !answer.contains(id.as_str()),
                    "shipper {s} saw {id}: {answer}"
                );
            }
            for other in (0..5).filter(|o| *o != s) {
                assert!(
                    !answer.contains(&format!("SHIPPER-{other}")),
                    "shipper {s} saw SHIPPER-{other}: {answer}"
                );
            }
        }
    }
}
