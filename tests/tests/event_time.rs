//! One "now" everywhere: while the pipeline is behind, the API, the dashboard's network view and
//! the alerter measure time at the pipeline's event-time position (the watermark the processor
//! stamps on each status record), not at the wall clock; once the pipeline has caught up, they
//! agree with the wall clock.

use kouan_bus::headers::watermark_headers;
use kouan_bus::{Placed, Publisher, Topics};
use kouan_e2e::*;
use kouan_model::{
    pb, Direction, DocumentType, Location, Milestone, ShipmentMode, Status, Timestamp,
    TransportStage,
};
use prost::Message;
use std::time::{Duration, Instant};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis).unwrap()
}

/// A westbound train's container waiting at Małaszewicze since `since`.
fn waiting_at_malaszewicze(id: &str, since: i64) -> Status {
    Status {
        document_type: Some(DocumentType::RailWaybill),
        shipper: Some("SHIPPER-0".into()),
        mode: Some(ShipmentMode::Rail),
        direction: Some(Direction::Export),
        origin: Some("CNZZP".into()),
        destination: Some("DEHAM".into()),
        departed_at: Some(at(since - 10 * DAY)),
        transport_stage: TransportStage::InTransit,
        last_location: Some(Location {
            unlocode: "PLMAW".into(),
            facility: None,
            name: None,
        }),
        dwell_since: Some(at(since)),
        milestones: vec![
            Milestone::actual_at(
                "DEPARTED",
                at(since - 10 * DAY),
                "CNZZP",
                "test",
                format!("{id}-d"),
            ),
            Milestone::actual_at("ARRIVED", at(since), "PLMAW", "test", format!("{id}-a")),
        ],
        ..Status::empty(id)
    }
}

/// Publishes a status record to partition 0, stamped with `watermark` as the processor does.
fn publish(publisher: &Publisher, topics: &Topics, status: &Status, version: u64, watermark: i64) {
    let record = status.to_proto(version, &at(wall_millis())).encode_to_vec();
    publisher
        .send_placed(Placed {
            topic: &topics.status(),
            partition: 0,
            key: status.shipment_id.as_bytes(),
            payload: Some(&record),
            timestamp: None,
            headers: Some(watermark_headers(watermark)),
        })
        .unwrap();
    publisher.flush(Duration::from_secs(30)).unwrap();
}

fn get(url: &str) -> serde_json::Value {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().unwrap()).unwrap()
}

/// Polls `probe` until it returns something, for up to a minute.
fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn while_behind_time_is_the_pipelines_and_caught_up_it_is_the_wall_clocks() {
    let namespace = unique_namespace("event-time");
    let topics = Topics::new(&namespace);
    let created = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers()])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let workdir = std::env::temp_dir().join(&namespace);
    std::fs::create_dir_all(&workdir).unwrap();
    let auth = write_auth_file(&workdir);
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();

    // history thirty days old: the pipeline has reached 10 hours after the arrival
    let start = wall_millis();
    let arrival = start - 30 * DAY;
    let watermark = arrival + 10 * HOUR;
    let publisher = Publisher::new(&brokers()).unwrap();
    let waiting = waiting_at_malaszewicze("WAITING", arrival);
    publish(&publisher, &topics, &waiting, 1, watermark);

    let metrics = format!("127.0.0.1:{}", free_port());
    let alerter = Service::start(
        &namespace,
        &[
            "alert",
            "--brokers",
            &brokers(),
            "--tick",
            "1s",
            "--metrics-listen",
            &metrics,
        ],
    );
    let serve = Serve::start(&namespace, &auth, &[]);

    let shipment = get(&format!("{}/v1/shipments/WAITING", serve.url));
    let dwell = shipment["dwellHours"].as_f64().unwrap();
    assert!(
        (9.9..11.0).contains(&dwell),
        "dwell measured at the pipeline's now (10 h), not today's (720 h): {shipment}"
    );
    let network = get(&format!("{}/v1/network", serve.url));
    let pipeline = &network["pipeline"];
    assert_eq!(pipeline["catchingUp"], true, "{network}");
    let behind = pipeline["behindHours"].as_f64().unwrap();
    assert!((709.0..711.0).contains(&behind), "{network}");
    let node_dwell = network["nodes"][0]["maxDwellHours"].as_f64().unwrap();
    assert!(node_dwell < 11.0, "{network}");

    // the alerter has judged the record at the pipeline's now: 10 h at Małaszewicze is within
    // its 24 h promise, so nothing fires (on the wall clock it would be 720 h)
    let client = reqwest::blocking::Client::new();
    eventually("the alerter read the record", || {
        let text = client
            .get(format!("http://{metrics}/metrics"))
            .send()
            .ok()?
            .text()
            .ok()?;
        text.contains("kouan_alerter_status_in_total 1\n")
            .then_some(())
    });
    let tick_after_read = Instant::now();
    alerter.await_log("replay done, alerting", Duration::from_secs(60));
    // two timer periods after it read the record, still nothing
    while tick_after_read.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let alerts = read_topic(
        &brokers(),
        &topics.alerts(),
        0,
        Duration::from_millis(500),
        Duration::from_secs(10),
    );
    assert!(alerts.is_empty(), "no alert while behind: {alerts:?}");

    // the pipeline catches up: a record stamped with the present
    let other = waiting_at_malaszewicze("LATEST", start - HOUR);
    publish(&publisher, &topics, &other, 1, wall_millis());
    let network = eventually("the store caught up", || {
        let network = get(&format!("{}/v1/network", serve.url));
        (network["pipeline"]["catchingUp"] == false).then_some(network)
    });
    assert!(
        network["pipeline"]["behindHours"].as_f64().unwrap() < 0.1,
        "{network}"
    );
    let shipment = get(&format!("{}/v1/shipments/WAITING", serve.url));
    let dwell = shipment["dwellHours"].as_f64().unwrap();
    assert!((719.0..721.0).contains(&dwell), "{shipment}");

    // and the alerter's clock with it: the 30-day wait at Małaszewicze fires
    let alerts = read_topic(
        &brokers(),
        &topics.alerts(),
        1,
        Duration::from_secs(1),
        Duration::from_secs(60),
    );
    let fired: Vec<pb::Alert> = alerts
        .iter()
        .map(|record| pb::Alert::decode(record.payload.as_slice()).unwrap())
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].alert_id, "WAITING/PLMAW/DWELL");
    assert!(fired[0].observed_hours > 700.0, "{:?}", fired[0]);
}
