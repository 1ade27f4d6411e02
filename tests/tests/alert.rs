//! `kouan alert` on the real broker: a silent shipment and a customs hold alert without any
//! further event, a normal shipment does not, and a kill -9 and restart of the alerter neither
//! loses nor repeats an alert (the hold then resolves on the restarted one) and restores its
//! state from its changelog instead of reading the statuses again.

use kouan_bus::{Publisher, Topics};
use kouan_e2e::*;
use kouan_model::*;
use kouan_model::{Milestone, Status};
use prost::Message as _;
use std::collections::BTreeMap;
use std::time::Duration;

const HOUR: i64 = 3_600_000;

fn now() -> i64 {
    wall_millis()
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_parts(millis.div_euclid(1000), 0, 3600).unwrap()
}

fn milestone(code: &'static str, millis: i64, node: &str) -> Milestone {
    Milestone::actual_at(code, at(millis), node, "test", format!("{code}-{millis}"))
}

/// A westbound rail shipment at Małaszewicze since `since`.
fn at_malaszewicze(
    id: &str,
    since: i64,
    mut extra: Vec<Milestone>,
    customs: CustomsState,
) -> Status {
    let mut milestones = vec![
        milestone("ARRIVED", since, "PLMAW"),
        milestone("DISC", since + HOUR / 2, "PLMAW"),
    ];
    milestones.append(&mut extra);
    Status {
        document_type: Some(DocumentType::RailWaybill),
        shipper: Some("henan-elec".into()),
        mode: Some(ShipmentMode::Rail),
        direction: Some(Direction::Export),
        origin: Some("CNZZP".into()),
        destination: Some("DEHAM".into()),
        port_of_entry: Some("DEHAM".into()),
        departed_at: Some(at(since - 200 * HOUR)),
        customs_status: customs,
        transport_stage: TransportStage::InTransit,
        last_location: Some(Location {
            unlocode: "PLMAW".into(),
            facility: None,
            name: None,
        }),
        dwell_since: Some(at(since)),
        milestones,
        ..Status::empty(id)
    }
}

fn publish(publisher: &Publisher, topics: &Topics, status: &Status) {
    let record = status.to_proto(1, &at(now())).encode_to_vec();
    publisher
        .send(
            &topics.status(),
            Some(status.shipment_id.as_bytes()),
            &record,
            None,
        )
        .unwrap();
    publisher.flush(Duration::from_secs(30)).unwrap();
}

fn alerts(topics: &Topics, expected: usize) -> Vec<pb::Alert> {
    read_topic(
        &brokers(),
        &topics.alerts(),
        expected,
        Duration::from_secs(2),
        Duration::from_secs(60),
    )
    .into_iter()
    .map(|record| pb::Alert::decode(record.payload.as_slice()).unwrap())
    .collect()
}

/// Waits until `kouan.internal.alerter` holds a key starting with each of `prefixes`.
fn await_state_keys(topics: &Topics, prefixes: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let keys: Vec<String> = read_topic(
            &brokers(),
            &topics.alerter(),
            0,
            Duration::ZERO,
            Duration::from_secs(10),
        )
        .into_iter()
        .filter(|record| !record.payload.is_empty())
        .filter_map(|record| String::from_utf8(record.key?).ok())
        .collect();
        if prefixes
            .iter()
            .all(|prefix| keys.iter().any(|key| key.starts_with(prefix)))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the alerter's changelog holds {keys:?}, not {prefixes:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn silent_shipments_alert_and_a_restart_loses_and_repeats_nothing() {
    let namespace = unique_namespace("alert");
    let topics = Topics::new(&namespace);
    let output = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let publisher = Publisher::new(&brokers()).unwrap();
    let start = now();
    let held_milestones = vec![milestone("SUSPENDED", start - 2 * HOUR, "CNZZP")];
    publish(
        &publisher,
        &topics,
        &at_malaszewicze("STUCK", start - 240 * HOUR, vec![], CustomsState::Released),
    );
    publish(
        &publisher,
        &topics,
        &at_malaszewicze(
            "HELD",
            start - 3 * HOUR,
            held_milestones.clone(),
            CustomsState::Held,
        ),
    );
    publish(
        &publisher,
        &topics,
        &at_malaszewicze("NORMAL", start - HOUR, vec![], CustomsState::Released),
    );

    let alerter = Service::start(
        &namespace,
        &["alert", "--brokers", &brokers(), "--tick", "1s"],
    );
    let first = alerts(&topics, 2);
    let ids: Vec<(&str, i32)> = first
        .iter()
        .map(|a| (a.alert_id.as_str(), a.state))
        .collect();
    let firing = AlertState::Firing.to_proto();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&("STUCK/PLMAW/DWELL", firing)), "{ids:?}");
    assert!(
        ids.contains(&("HELD/CNZZP/CUSTOMS_HOLD", firing)),
        "{ids:?}"
    );
    let stuck = first.iter().find(|a| a.shipment_id == "STUCK").unwrap();
    assert!(
        stuck.observed_hours >= 240.0 && stuck.threshold_hours == 168.0,
        "{stuck:?}"
    );
    assert_eq!(stuck.baseline, "cold start");

    // the alerter's state is in its changelog, with the positions it was taken at
    await_state_keys(&topics, &["s/STUCK", "s/HELD", "s/NORMAL", "p/"]);
    alerter.kill_hard();
    let listen = format!("127.0.0.1:{}", free_port());
    let restarted = Service::start(
        &namespace,
        &[
            "alert",
            "--brokers",
            &brokers(),
            "--tick",
            "1s",
            "--metrics-listen",
            &listen,
        ],
    );
    restarted.await_log("replay done, alerting", Duration::from_secs(60));
    // the hold is lifted: the restarted alerter resolves the alert it adopted
    let mut released = held_milestones;
    released.push(milestone("RELEASED", now(), "CNZZP"));
    publish(
        &publisher,
        &topics,
        &at_malaszewicze("HELD", start - 3 * HOUR, released, CustomsState::Released),
    );

    let all = alerts(&topics, 3);
    let mut by_id: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for alert in &all {
        by_id.entry(&alert.alert_id).or_default().push(alert.state);
    }
    let resolved = AlertState::Resolved.to_proto();
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let text = reqwest::blocking::get(format!("http://{listen}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("kouan_alerter_alerts_out_total 1\n"),
        "{text}"
    );
    assert!(text.contains("kouan_alerts_firing 1\n"), "{text}");
    // restored from the changelog: only the record published since was read, not history
    assert!(text.contains("kouan_alerter_status_in_total 1\n"), "{text}");
    assert_eq!(
        by_id.get("STUCK/PLMAW/DWELL"),
        Some(&vec![firing]),
        "raised once, not again after the restart: {by_id:?}"
    );
    assert_eq!(
        by_id.get("HELD/CNZZP/CUSTOMS_HOLD"),
        Some(&vec![firing, resolved]),
        "{by_id:?}"
    );
    assert!(
        by_id.keys().all(|id| !id.starts_with("NORMAL")),
        "a normal shipment raised {by_id:?}"
    );
    assert_eq!(all.len(), 3);
    drop(restarted);
}
