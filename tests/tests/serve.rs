//! `kouan serve` against the real broker: every endpoint's answers and errors, shipper
//! isolation, feed resume, webhooks, SQL limits and the `kouan sql` console. Status and alert
//! records are published straight onto the topics so each test controls exactly what the store
//! sees.

use kouan_bus::{Publisher, Topics};
use kouan_e2e::*;
use kouan_model::Milestone;
use kouan_model::Status;
use kouan_model::{
    pb, Classifier, CustomsState, Direction, DocumentType, Location, ShipmentMode, Timestamp,
    TransportStage,
};
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STAGES: [TransportStage; 4] = [
    TransportStage::Booked,
    TransportStage::Departed,
    TransportStage::Arrived,
    TransportStage::Delivered,
];

fn time(hours: f64) -> Timestamp {
    let millis = 1_790_000_000_000i64 + (hours * 3_600_000.0) as i64;
    Timestamp::from_parts(millis / 1000, 0, 8 * 3600).unwrap()
}

/// A status record with the fields the API filters and aggregates on.
#[allow(clippy::too_many_arguments)]
fn status(
    id: &str,
    shipper: &str,
    mode: ShipmentMode,
    direction: Direction,
    stage: TransportStage,
    customs: CustomsState,
    clearance_hours: Option<f64>,
    advance_declared: Option<bool>,
) -> Status {
    let port = if mode == ShipmentMode::Air {
        "CNCGO"
    } else {
        "CNZZU"
    };
    Status {
        document_type: Some(DocumentType::Awb),
        shipper: Some(shipper.to_string()),
        mode: Some(mode),
        direction: Some(direction),
        origin: Some("DEFRA".into()),
        destination: Some(port.into()),
        port_of_entry: Some(port.into()),
        booked_at: Some(time(0.0)),
        arrived_at: Some(time(10.0)),
        declared_at: Some(time(5.0)),
        customs_status: customs,
        released_at: clearance_hours.map(|h| time(10.0 + h)),
        transport_stage: stage,
        advance_declared,
        clearance_hours,
        last_location: Some(Location {
            unlocode: port.into(),
            facility: None,
            name: None,
        }),
        dwell_since: Some(time(10.0)),
        milestones: vec![Milestone {
            code: "BOOKED",
            event_time: time(0.0),
            classifier: Classifier::Act,
            location: None,
            source: "test".into(),
            event_id: format!("{id}-booked"),
        }],
        ..Status::empty(id.to_string())
    }
}

fn publish_status(publisher: &Publisher, topics: &Topics, status: &Status, version: u64) {
    let record = status.to_proto(version, &time(100.0 + version as f64));
    publisher
        .send(
            &topics.status(),
            Some(status.shipment_id.as_bytes()),
            &record.encode_to_vec(),
            None,
        )
        .unwrap();
}

fn publish_alert(
    publisher: &Publisher,
    topics: &Topics,
    shipment: &str,
    shipper: &str,
    firing: bool,
) -> String {
    let alert_id = format!("{shipment}/CNCGO/DWELL");
    let record = pb::Alert {
        alert_id: alert_id.clone(),
        shipment_id: shipment.into(),
        shipper: Some(shipper.into()),
        kind: pb::AlertKind::Dwell as i32,
        state: if firing {
            pb::AlertState::Firing
        } else {
            pb::AlertState::Resolved
        } as i32,
        node: "CNCGO".into(),
        stage: "IMPORT_RELEASE".into(),
        observed_hours: 50.0,
        threshold_hours: 24.0,
        baseline: "sla".into(),
        started_at: Some(kouan_model::protobuf::time_to_proto(&time(10.0))),
        updated_at: Some(kouan_model::protobuf::time_to_proto(&time(60.0))),
        resolved_at: None,
        message: format!("{shipment} dwells at CNCGO"),
    };
    publisher
        .send(
            &topics.alerts(),
            Some(alert_id.as_bytes()),
            &record.encode_to_vec(),
            None,
        )
        .unwrap();
    alert_id
}

fn setup(test: &str) -> (String, Topics, Publisher, tempdir::Dir) {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let namespace = unique_namespace(test);
    let topics = Topics::new(namespace.clone());
    let status = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers()])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let publisher = Publisher::new(&brokers()).unwrap();
    (namespace, topics, publisher, tempdir::Dir::new(test))
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(kouan_e2e::unique_namespace(name));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// GET with a token; status and body.
fn get(serve: &Serve, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = client().get(format!("{}{path}", serve.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn get_json(serve: &Serve, path: &str, token: &str) -> serde_json::Value {
    let (status, body) = get(serve, path, Some(token));
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn post_json(serve: &Serve, path: &str, token: &str, body: serde_json::Value) -> (u16, String) {
    let response = client()
        .post(format!("{}{path}", serve.url))
        .bearer_auth(token)
        .json_body(body)
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

trait JsonBody {
    fn json_body(self, body: serde_json::Value) -> Self;
}

impl JsonBody for reqwest::blocking::RequestBuilder {
    fn json_body(self, body: serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(body.to_string())
    }
}

fn error_of(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    value["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"))
        .to_string()
}

/// Every page of a list, following `nextCursor`.
fn walk(serve: &Serve, path: &str, token: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let separator = if path.contains('?') { '&' } else { '?' };
    loop {
        let page_path = match &cursor {
            Some(c) => format!("{path}{separator}cursor={c}"),
            None => path.to_string(),
        };
        let page = get_json(serve, &page_path, token);
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
}

/// Exact `percentile_cont`: linear interpolation between closest ranks.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = p * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

struct World {
    statuses: Vec<Status>,
    alerts: Vec<(String, String, bool)>,
}

/// 60 shipments of shippers 0–2 in both modes and directions, 6 alerts.
fn world() -> World {
    let mut statuses = Vec::new();
    for i in 0..60usize {
        let mode = if i % 2 == 0 {
            ShipmentMode::Air
        } else {
            ShipmentMode::Rail
        };
        let direction = if i % 4 == 3 {
            Direction::Export
        } else {
            Direction::Import
        };
        let released = i % 3 != 0;
        statuses.push(status(
            &format!("SHP{i:04}"),
            &format!("SHIPPER-{}", i % 3),
            mode,
            direction,
            STAGES[i % 4],
            if released {
                CustomsState::Released
            } else {
                CustomsState::Declared
            },
            released.then_some(i as f64 * 0.75 + 1.0),
            (direction == Direction::Import).then_some(i % 5 == 0),
        ));
    }
    let alerts = (0..6)
        .map(|i| {
            (
                format!("SHP{i:04}"),
                format!("SHIPPER-{}", i % 3),
                i % 2 == 0,
            )
        })
        .collect();
    World { statuses, alerts }
}

#[test]
fn every_endpoint_answers_and_refuses() {
    let (namespace, topics, publisher, dir) = setup("serve-api");
    let world = world();
    for s in &world.statuses {
        publish_status(&publisher, &topics, s, 1);
    }
    for (shipment, shipper, firing) in &world.alerts {
        publish_alert(&publisher, &topics, shipment, shipper, *firing);
    }
    publisher.flush(Duration::from_secs(30)).unwrap();
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(&namespace, &auth, &["--sql-max-rows", "25"]);
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);

    // unauthenticated routes
    assert_eq!(get(&serve, "/healthz", None).0, 200);
    let (status, page) = get(&serve, "/", None);
    assert_eq!(status, 200);
    assert!(
        page.contains("<html") || page.contains("<!doctype"),
        "{page}"
    );

    // auth
    let (status, body) = get(&serve, "/v1/shipments", None);
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("bearer"), "{body}");
    let (status, body) = get(&serve, "/v1/shipments/SHP0000", Some("not-a-token"));
    assert_eq!(status, 401);
    assert_eq!(error_of(&body), "unknown token");

    // lookup: the record plus dwellHours; another shipper's shipment is 404 like a missing one
    let record = get_json(&serve, "/v1/shipments/SHP0003", operator);
    assert_eq!(record["shipmentId"], "SHP0003");
    assert_eq!(record["shipper"], "SHIPPER-0");
    assert_eq!(record["mode"], "RAIL");
    assert_eq!(record["direction"], "EXPORT");
    assert_eq!(record["transportStage"], "DELIVERED");
    assert_eq!(record["customsStatus"], "DECLARED");
    assert_eq!(record["version"], 1);
    assert!(record["clearanceHours"].is_null());
    assert_eq!(record["milestones"][0]["code"], "BOOKED");
    assert!(record["dwellHours"].is_null(), "delivered: no dwell");
    let arrived = get_json(&serve, "/v1/shipments/SHP0002", operator);
    let dwell = arrived["dwellHours"].as_f64().unwrap();
    let expected = (kouan_query_now() - time(10.0).unix_millis()) as f64 / 3_600_000.0;
    assert!(
        (dwell - expected).abs() < 0.05,
        "dwellHours {dwell} vs {expected}"
    );
    assert_eq!(
        get_json(&serve, "/v1/shipments/SHP0003", &shipper0)["shipmentId"],
        "SHP0003"
    );
    let (status, body) = get(&serve, "/v1/shipments/SHP0001", Some(&shipper0));
    assert_eq!(status, 404);
    assert!(!body.contains("SHIPPER-1"), "{body}");
    let (status, body) = get(&serve, "/v1/shipments/NOPE", Some(operator));
    assert_eq!(
        (status, error_of(&body).as_str()),
        (404, "shipment not found")
    );

    // lists: filters, pagination, visibility
    let all = walk(&serve, "/v1/shipments?limit=7", operator);
    let ids: Vec<&str> = all
        .iter()
        .map(|s| s["shipmentId"].as_str().unwrap())
        .collect();
    let expected_ids: Vec<String> = world
        .statuses
        .iter()
        .map(|s| s.shipment_id.clone())
        .collect();
    assert_eq!(ids, expected_ids, "every shipment once, in id order");
    let air_arrived = walk(
        &serve,
        "/v1/shipments?mode=AIR&transportStage=ARRIVED&limit=3",
        operator,
    );
    let want: Vec<String> = world
        .statuses
        .iter()
        .filter(|s| {
            s.mode == Some(ShipmentMode::Air) && s.transport_stage == TransportStage::Arrived
        })
        .map(|s| s.shipment_id.clone())
        .collect();
    assert_eq!(
        air_arrived
            .iter()
            .map(|s| s["shipmentId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        want
    );
    let mine = walk(
        &serve,
        "/v1/shipments?customsStatus=DECLARED&limit=3",
        &shipper0,
    );
    assert!(!mine.is_empty());
    assert!(mine
        .iter()
        .all(|s| s["shipper"] == "SHIPPER-0" && s["customsStatus"] == "DECLARED"));
    assert_eq!(
        mine.len(),
        world
            .statuses
            .iter()
            .filter(|s| s.shipper.as_deref() == Some("SHIPPER-0")
                && s.customs_status == CustomsState::Declared)
            .count()
    );
    assert!(walk(&serve, "/v1/shipments?shipper=SHIPPER-1", &shipper0).is_empty());
    assert_eq!(
        walk(&serve, "/v1/shipments?shipper=SHIPPER-1", operator).len(),
        20
    );
    for (path, needle) in [
        ("/v1/shipments?limit=0", "limit"),
        ("/v1/shipments?limit=5000", "limit"),
        ("/v1/shipments?limit=x", "limit"),
        ("/v1/shipments?transportStage=FLYING", "transportStage"),
        ("/v1/shipments?customsStatus=OK", "customsStatus"),
        ("/v1/shipments?mode=SPACE", "mode"),
        ("/v1/shipments?color=red", "unknown parameter `color`"),
        ("/v1/shipments?cursor=zz", "cursor"),
        ("/v1/alerts?state=ON", "state"),
        ("/v1/kpis/clearance?direction=UP", "direction"),
        ("/v1/kpis/clearance?groupBy=carrier", "groupBy"),
    ] {
        let (status, body) = get(&serve, path, Some(operator));
        assert_eq!(status, 400, "{path}: {body}");
        assert!(error_of(&body).contains(needle), "{path}: {body}");
    }

    // alerts
    let firing = walk(&serve, "/v1/alerts?state=FIRING", operator);
    assert_eq!(firing.len(), 3);
    assert!(firing
        .iter()
        .all(|a| a["state"] == "FIRING" && a["kind"] == "DWELL"));
    assert_eq!(walk(&serve, "/v1/alerts", operator).len(), 6);
    let own_alerts = walk(&serve, "/v1/alerts", &shipper0);
    assert_eq!(
        own_alerts
            .iter()
            .map(|a| a["shipmentId"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["SHP0000", "SHP0003"]
    );

    // KPIs against a hand computation
    let kpis = get_json(
        &serve,
        "/v1/kpis/clearance?direction=IMPORT&groupBy=portOfEntry,mode",
        operator,
    );
    let groups = kpis["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{kpis}");
    for group in groups {
        let mode = group["mode"].as_str().unwrap();
        let members: Vec<&Status> = world
            .statuses
            .iter()
            .filter(|s| s.direction == Some(Direction::Import) && s.mode.unwrap().code() == mode)
            .collect();
        let mut hours: Vec<f64> = members.iter().filter_map(|s| s.clearance_hours).collect();
        hours.sort_by(f64::total_cmp);
        let declared: Vec<bool> = members.iter().filter_map(|s| s.advance_declared).collect();
        assert_eq!(group["count"], hours.len() as u64, "{group}");
        let close = |field: &str, want: f64| {
            let got = group[field].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 0.0051,
                "{field}: {got} vs {want}: {group}"
            );
        };
        close("p50Hours", percentile(&hours, 0.5));
        close("p90Hours", percentile(&hours, 0.9));
        close("meanHours", hours.iter().sum::<f64>() / hours.len() as f64);
        let rate = declared.iter().filter(|d| **d).count() as f64 / declared.len() as f64;
        assert!(
            (group["advanceDeclarationRate"].as_f64().unwrap() - rate).abs() < 1e-4,
            "{group}"
        );
        assert_eq!(
            group["portOfEntry"],
            if mode == "AIR" { "CNCGO" } else { "CNZZU" }
        );
    }
    let own = get_json(&serve, "/v1/kpis/clearance", &shipper0);
    let own_count = world
        .statuses
        .iter()
        .filter(|s| s.shipper.as_deref() == Some("SHIPPER-0") && s.clearance_hours.is_some())
        .count();
    assert_eq!(own["groups"][0]["count"], own_count as u64, "{own}");
    let by_day = get_json(&serve, "/v1/kpis/clearance?groupBy=day", operator);
    assert!(
        by_day["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["day"].as_str().is_some_and(|d| d.len() == 10)),
        "{by_day}"
    );

    // SQL: operator only, read-only, bounded, JSON and Arrow
    let (status, body) = post_json(
        &serve,
        "/v1/sql",
        operator,
        serde_json::json!({"sql": "SELECT count(*) AS n, count(DISTINCT shipper) AS shippers FROM shipments"}),
    );
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["columns"], serde_json::json!(["n", "shippers"]));
    assert_eq!(answer["rows"], serde_json::json!([[60, 3]]));
    let (status, body) = post_json(
        &serve,
        "/v1/sql",
        operator,
        serde_json::json!({"sql": "SELECT m.code, count(*) FROM milestones m JOIN shipments s USING (shipment_id) JOIN alerts a USING (shipment_id) GROUP BY m.code"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["rows"],
        serde_json::json!([["BOOKED", 6]])
    );
    let (status, body) = post_json(
        &serve,
        "/v1/sql",
        operator,
        serde_json::json!({"sql": "SELECT shipment_id FROM shipments"}),
    );
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["rows"].as_array().unwrap().len(), 25);
    assert_eq!(answer["truncated"], true);
    for refused in [
        "DROP TABLE shipments",
        "INSERT INTO alerts SELECT * FROM alerts",
        "SELECT 1; DELETE FROM shipments",
        "CREATE TABLE x AS SELECT 1",
        "COPY shipments TO '/tmp/out.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let (status, body) = post_json(
            &serve,
            "/v1/sql",
            operator,
            serde_json::json!({ "sql": refused }),
        );
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(error_of(&body).starts_with("sql:"), "{refused}: {body}");
    }
    let (status, body) = post_json(
        &serve,
        "/v1/sql",
        operator,
        serde_json::json!({"query": "SELECT 1"}),
    );
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("body"), "{body}");
    let (status, body) = post_json(
        &serve,
        "/v1/sql",
        &shipper0,
        serde_json::json!({"sql": "SELECT 1"}),
    );
    assert_eq!(status, 403, "{body}");
    let response = client()
        .post(format!("{}/v1/sql", serve.url))
        .bearer_auth(operator)
        .header("Accept", "application/vnd.apache.arrow.stream")
        .json_body(serde_json::json!({"sql": "SELECT shipment_id, clearance_hours FROM shipments WHERE mode = 'AIR' ORDER BY shipment_id"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let bytes = response.bytes().unwrap();
    let reader =
        datafusion::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 25);
    assert_eq!(batches[0].schema().field(1).name(), "clearance_hours");

    // the console, one-shot
    let output = kouan(&namespace)
        .args([
            "sql",
            "--url",
            &serve.url,
            "--token",
            operator,
            "SELECT mode, count(*) AS n FROM shipments GROUP BY mode ORDER BY mode",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("| mode | n  |")
            && text.contains("| AIR  | 30 |")
            && text.contains("(2 rows)"),
        "{text}"
    );
    let output = kouan(&namespace)
        .args([
            "sql",
            "--url",
            &serve.url,
            "--token",
            operator,
            "DELETE FROM shipments",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("400"),
        "{output:?}"
    );

    // subscriptions: validation
    for (body, needle) in [
        (
            serde_json::json!({"callbackUrl": "ftp://x", "secret": "0123456789abcdef"}),
            "callbackUrl",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.1:9/hook", "secret": "short"}),
            "secret",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef", "filters": {"mode": "SPACE"}}),
            "filters.mode",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.1:9/hook"}),
            "secret",
        ),
    ] {
        let (status, text) = post_json(&serve, "/v1/subscriptions", operator, body.clone());
        assert_eq!(status, 400, "{body}: {text}");
        assert!(error_of(&text).contains(needle), "{body}: {text}");
    }
    let (status, text) = post_json(
        &serve,
        "/v1/subscriptions",
        &shipper0,
        serde_json::json!({"callbackUrl": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef", "filters": {"shipper": "SHIPPER-1"}}),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = post_json(
        &serve,
        "/v1/subscriptions",
        &shipper0,
        serde_json::json!({"callbackUrl": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}),
    );
    assert_eq!(status, 201, "{text}");
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(created.get("secret").is_none());
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        get_json(&serve, "/v1/subscriptions", &shipper0)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        get_json(&serve, "/v1/subscriptions", &shipper_token(1))["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let delete = |token: &str| {
        client()
            .delete(format!("{}/v1/subscriptions/{id}", serve.url))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(delete(&shipper_token(1)), 404);
    assert_eq!(delete(&shipper0), 204);
    assert_eq!(delete(&shipper0), 404);

    // unknown routes, metrics and the audit trail
    let (status, body) = get(&serve, "/v2/nothing", Some(operator));
    assert_eq!((status, error_of(&body).as_str()), (404, "no such route"));
    let (status, metrics) = get(&serve, "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            "kouan_http_requests_total{route=\"/v1/shipments/{id}\",method=\"GET\",status=\"404\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("kouan_http_request_duration_seconds_bucket{"),
        "{metrics}"
    );
    assert!(metrics.contains("kouan_store_shipments 60"), "{metrics}");
    assert!(metrics.contains("kouan_store_alerts_firing 3"), "{metrics}");
    let audit = serve
        .service
        .last_log_line("DROP TABLE shipments")
        .expect("the refused SQL is audited");
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit["fields"]["status"], 400);
    assert_eq!(audit["fields"]["role"], "operator");
    assert_eq!(audit["fields"]["route"], "/v1/sql");
    assert!(
        !audit.to_string().contains(operator),
        "tokens never reach the log"
    );
}

fn kouan_query_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One parsed Server-Sent Event.
#[derive(Debug, Clone)]
struct SseEvent {
    event: String,
    id: String,
    data: serde_json::Value,
}

/// Opens the feed; events arrive on the channel until the returned guard is dropped.
fn open_feed(
    serve: &Serve,
    token: &str,
    last_event_id: Option<&str>,
) -> (mpsc::Receiver<SseEvent>, FeedGuard) {
    let client = reqwest::blocking::Client::builder().build().unwrap();
    let mut request = client
        .get(format!("{}/v1/feed", serve.url))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (sender, receiver) = mpsc::channel();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::spawn(move || {
        let reader = std::io::BufReader::new(response);
        let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
        for line in reader.lines() {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let Ok(line) = line else { return };
            if line.is_empty() {
                if !data.is_empty() {
                    let parsed = SseEvent {
                        event: std::mem::take(&mut event),
                        id: std::mem::take(&mut id),
                        data: serde_json::from_str(&std::mem::take(&mut data)).unwrap(),
                    };
                    if sender.send(parsed).is_err() {
                        return;
                    }
                }
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    });
    (receiver, FeedGuard(stop))
}

struct FeedGuard(Arc<std::sync::atomic::AtomicBool>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Status events until one for `until` arrives.
fn read_until(feed: &mpsc::Receiver<SseEvent>, until: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    loop {
        let event = feed
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no `{until}` on the feed; got {} events", events.len()));
        let done = event.data["shipmentId"] == until;
        events.push(event);
        if done {
            return events;
        }
    }
}

fn changes(events: &[SseEvent]) -> Vec<(String, u64)> {
    events
        .iter()
        .filter(|e| e.event == "status")
        .map(|e| {
            (
                e.data["shipmentId"].as_str().unwrap().to_string(),
                e.data["version"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn simple(id: &str, shipper: usize, stage: usize) -> Status {
    status(
        id,
        &format!("SHIPPER-{shipper}"),
        ShipmentMode::Air,
        Direction::Import,
        STAGES[stage % 4],
        CustomsState::Declared,
        None,
        Some(false),
    )
}

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

/// A webhook receiver: answers 500 to every third request, records what it accepted.
struct Receiver {
    url: String,
    accepted: Arc<Accepted>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

fn receiver() -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/kouan", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (sink, refusals) = (accepted.clone(), refused.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (sink, refusals, counter) = (sink.clone(), refusals.clone(), counter.clone());
            std::thread::spawn(move || serve_connection(stream, &sink, &refusals, &counter));
        }
    });
    Receiver {
        url,
        accepted,
        refused,
    }
}

type Accepted = Mutex<Vec<(BTreeMap<String, String>, Vec<u8>)>>;

fn serve_connection(
    stream: std::net::TcpStream,
    sink: &Accepted,
    refusals: &std::sync::atomic::AtomicUsize,
    counter: &std::sync::atomic::AtomicUsize,
) {
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
        let length: usize = headers
            .get("content-length")
            .map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let status = if n % 3 == 1 {
            refusals.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            "500 Internal Server Error"
        } else {
            sink.lock().unwrap().push((headers, body));
            "200 OK"
        };
        write!(writer, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").unwrap();
        writer.flush().unwrap();
    }
}

fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    signature == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn webhooks_are_signed_ordered_retried_and_survive_a_restart() {
    let (namespace, topics, publisher, dir) = setup("serve-webhook");
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(&namespace, &auth, &[]);
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
    let serve = Serve::start(&namespace, &auth, &[]);
    let listed = get_json(&serve, "/v1/subscriptions", &shipper_token(1));
    assert_eq!(listed["items"][0]["id"], subscription);
    for versions in want.values_mut() {
        versions.extend([7, 8]);
    }
    await_delivered(&want);
}

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
