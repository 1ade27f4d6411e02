//! The feed: Server-Sent Events resumed with `Last-Event-ID` exactly once, on any instance.

use super::fixtures::*;
use kouan_e2e::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn feed_resumes_with_last_event_id_exactly_once_even_on_a_new_instance() {
    let (namespace, topics, publisher, dir) = setup("serve-feed");
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(&namespace, &auth, &[]);
    let (feed, guard) = open_feed(&serve, OPERATOR_TOKEN, None);
    let ids: Vec<String> = (0..10).map(|i| format!("F{i:02}")).collect();

    // versions for every shipment, then a marker version of each: once every marker has
    // arrived, so has everything published before it (each partition is read in order)
    let publish_round = |versions: std::ops::RangeInclusive<u64>, marker: u64| {
        for version in versions.chain([marker]) {
            for (i, id) in ids.iter().enumerate() {
                publish_status(
                    &publisher,
                    &topics,
                    &simple(id, i % 2, version as usize),
                    version,
                );
            }
        }
        publisher.flush(Duration::from_secs(30)).unwrap();
    };
    let read_markers = |feed: &mpsc::Receiver<SseEvent>, marker: u64| {
        let mut events = Vec::new();
        let mut markers = 0;
        while markers < ids.len() {
            let event = feed
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!("markers {marker} incomplete after {} events", events.len())
                });
            if event.data["version"] == marker {
                markers += 1;
            }
            events.push(event);
        }
        events
    };

    publish_round(1..=3, 1001);
    let first = read_markers(&feed, 1001);
    assert_eq!(changes(&first).len(), 40);
    drop(guard);
    drop(feed);
    // resume from the middle of what was received: the rest again, then what came since
    let resume_at = &first[11];
    publish_round(4..=6, 1002);
    let (feed, _guard) = open_feed(&serve, OPERATOR_TOKEN, Some(&resume_at.id));
    let second = read_markers(&feed, 1002);
    let mut seen: Vec<(String, u64)> = changes(&first[..12]);
    seen.extend(changes(&second));
    let distinct: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), distinct.len(), "a change came twice: {seen:?}");
    assert_eq!(distinct.len(), 80, "every change once: {distinct:?}");
    // per shipment the records arrive in publication order: 1, 2, 3, 1001, 4, 5, 6, 1002
    let published_as = |version: u64| {
        if version > 1000 {
            (version - 1000) as f64 * 3.0 + 0.5
        } else {
            version as f64
        }
    };
    let mut last: BTreeMap<String, f64> = BTreeMap::new();
    for (id, version) in &seen {
        let previous = last
            .insert(id.clone(), published_as(*version))
            .unwrap_or(0.0);
        assert!(
            published_as(*version) > previous,
            "{id}: {version} out of order"
        );
    }

    // a new store instance replays the topics; the token still means the same place
    let last_id = second.last().unwrap().id.clone();
    drop(feed);
    drop(serve);
    publish_round(7..=8, 1003);
    let serve = Serve::start(&namespace, &auth, &[]);
    let (feed, _guard) = open_feed(&serve, OPERATOR_TOKEN, Some(&last_id));
    let third = changes(&read_markers(&feed, 1003));
    let want: BTreeSet<(String, u64)> = [7, 8, 1003]
        .into_iter()
        .flat_map(|v| ids.iter().map(move |id| (id.clone(), v)))
        .collect();
    assert_eq!(third.iter().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(
        third.len(),
        want.len(),
        "nothing repeated after the restart: {third:?}"
    );

    // a shipper's feed shows only its shipments: F00 is SHIPPER-0's, F01 SHIPPER-1's
    let (feed, _guard) = open_feed(&serve, &shipper_token(1), None);
    publish_status(&publisher, &topics, &simple("F00", 0, 3), 2000);
    publish_status(&publisher, &topics, &simple("F01", 1, 3), 2000);
    publisher.flush(Duration::from_secs(30)).unwrap();
    let started = Instant::now();
    while get_json(&serve, "/v1/shipments/F00", OPERATOR_TOKEN)["version"] != 2000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "F00 v2000 never stored"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // alerts travel on the feed too, to whoever sees their shipment
    publish_alert(&publisher, &topics, "F00", "SHIPPER-0", true);
    publish_alert(&publisher, &topics, "F01", "SHIPPER-1", true);
    publisher.flush(Duration::from_secs(30)).unwrap();
    while walk(&serve, "/v1/alerts", OPERATOR_TOKEN).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "alerts never stored"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    publish_status(&publisher, &topics, &simple("F01", 1, 2), 2001);
    publisher.flush(Duration::from_secs(30)).unwrap();
    let mut own = Vec::new();
    let mut alerts = Vec::new();
    while own.last() != Some(&("F01".to_string(), 2001)) {
        let event = feed
            .recv_timeout(Duration::from_secs(60))
            .expect("F01 v2001 on the feed");
        if event.event == "alert" {
            alerts.push(event.data["alertId"].as_str().unwrap().to_string());
        }
        own.extend(changes(&[event]));
    }
    assert_eq!(
        own,
        vec![("F01".to_string(), 2000), ("F01".to_string(), 2001)]
    );
    assert_eq!(alerts, vec!["F01/CNCGO/DWELL".to_string()]);
    let (status, body) = {
        let response = client()
            .get(format!("{}/v1/feed", serve.url))
            .bearer_auth(OPERATOR_TOKEN)
            .header("Last-Event-ID", "garbage")
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("Last-Event-ID"));
}
