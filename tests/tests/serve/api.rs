//! Every endpoint of API.md: answers, errors naming the parameter at fault, visibility, SQL
//! limits, the console, subscription validation, metrics and the audit trail — one store, one
//! capability per function.

use super::analytics::{console, kpis, sql};
use super::fixtures::*;
use super::hardening::*;
use kouan_e2e::*;
use kouan_model::{CustomsState, ShipmentMode, TransportStage};

#[test]
fn every_endpoint_answers_and_refuses() {
    let (namespace, topics, publisher, dir) = setup("serve-api");
    let world = world();
    publish_world(&publisher, &topics, &world);
    let auth = write_auth_file(&dir.0);
    let serve = Serve::start(
        &namespace,
        &auth,
        &[
            "--sql-max-rows",
            "25",
            "--webhook-allow",
            "127.0.0.9",
            "--max-subscriptions-per-shipper",
            "2",
            "--max-feed-clients",
            "1",
            "--protect-metrics",
        ],
    );
    unauthenticated_routes(&serve, &world, &namespace);
    authentication(&serve, &world, &namespace);
    lookups(&serve, &world, &namespace);
    lists(&serve, &world, &namespace);
    alerts(&serve, &world, &namespace);
    kpis(&serve, &world, &namespace);
    sql(&serve, &world, &namespace);
    console(&serve, &world, &namespace);
    subscriptions(&serve, &world, &namespace);
    routes_metrics_and_audit(&serve, &world, &namespace);
    webhook_destinations(&serve);
    webhook_limits(&serve);
    feed_tokens_and_clients(&serve);
    bodies_over_the_limit(&serve);
    long_sql_in_the_audit_line(&serve);
}

/// Unauthenticated routes
fn unauthenticated_routes(serve: &Serve, _world: &World, _namespace: &str) {
    assert_eq!(get(serve, "/healthz", None).0, 200);
    let (status, page) = get(serve, "/", None);
    assert_eq!(status, 200);
    assert!(
        page.contains("<html") || page.contains("<!doctype"),
        "{page}"
    );
}

/// Auth
fn authentication(serve: &Serve, _world: &World, _namespace: &str) {
    let (status, body) = get(serve, "/v1/shipments", None);
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("bearer"), "{body}");
    let (status, body) = get(serve, "/v1/shipments/SHP0000", Some("not-a-token"));
    assert_eq!(status, 401);
    assert_eq!(error_of(&body), "unknown token");
}

/// Lookup: the record plus dwellHours; another shipper's shipment is 404 like a missing one
fn lookups(serve: &Serve, _world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);
    let record = get_json(serve, "/v1/shipments/SHP0003", operator);
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
    let arrived = get_json(serve, "/v1/shipments/SHP0002", operator);
    let dwell = arrived["dwellHours"].as_f64().unwrap();
    let expected = (wall_millis() - time(10.0).unix_millis()) as f64 / 3_600_000.0;
    assert!(
        (dwell - expected).abs() < 0.05,
        "dwellHours {dwell} vs {expected}"
    );
    assert_eq!(
        get_json(serve, "/v1/shipments/SHP0003", &shipper0)["shipmentId"],
        "SHP0003"
    );
    let (status, body) = get(serve, "/v1/shipments/SHP0001", Some(&shipper0));
    assert_eq!(status, 404);
    assert!(!body.contains("SHIPPER-1"), "{body}");
    let (status, body) = get(serve, "/v1/shipments/NOPE", Some(operator));
    assert_eq!(
        (status, error_of(&body).as_str()),
        (404, "shipment not found")
    );
}

/// Lists: filters, pagination, visibility
fn lists(serve: &Serve, world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);
    let all = walk(serve, "/v1/shipments?limit=7", operator);
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
        serve,
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
        serve,
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
    assert!(walk(serve, "/v1/shipments?shipper=SHIPPER-1", &shipper0).is_empty());
    assert_eq!(
        walk(serve, "/v1/shipments?shipper=SHIPPER-1", operator).len(),
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
        let (status, body) = get(serve, path, Some(operator));
        assert_eq!(status, 400, "{path}: {body}");
        assert!(error_of(&body).contains(needle), "{path}: {body}");
    }
}

/// Alerts
fn alerts(serve: &Serve, _world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);
    let firing = walk(serve, "/v1/alerts?state=FIRING", operator);
    assert_eq!(firing.len(), 3);
    assert!(firing
        .iter()
        .all(|a| a["state"] == "FIRING" && a["kind"] == "DWELL"));
    assert_eq!(walk(serve, "/v1/alerts", operator).len(), 6);
    let own_alerts = walk(serve, "/v1/alerts", &shipper0);
    assert_eq!(
        own_alerts
            .iter()
            .map(|a| a["shipmentId"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["SHP0000", "SHP0003"]
    );
}

/// Subscriptions: validation
fn subscriptions(serve: &Serve, _world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let shipper0 = shipper_token(0);
    for (body, needle) in [
        (
            serde_json::json!({"callbackUrl": "ftp://x", "secret": "0123456789abcdef"}),
            "callbackUrl",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook", "secret": "short"}),
            "secret",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook", "secret": "0123456789abcdef", "filters": {"mode": "SPACE"}}),
            "filters.mode",
        ),
        (
            serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook"}),
            "secret",
        ),
    ] {
        let (status, text) = post_json(serve, "/v1/subscriptions", operator, body.clone());
        assert_eq!(status, 400, "{body}: {text}");
        assert!(error_of(&text).contains(needle), "{body}: {text}");
    }
    let (status, text) = post_json(
        serve,
        "/v1/subscriptions",
        &shipper0,
        serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook", "secret": "0123456789abcdef", "filters": {"shipper": "SHIPPER-1"}}),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = post_json(
        serve,
        "/v1/subscriptions",
        &shipper0,
        serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook", "secret": "0123456789abcdef"}),
    );
    assert_eq!(status, 201, "{text}");
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(created.get("secret").is_none());
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        get_json(serve, "/v1/subscriptions", &shipper0)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        get_json(serve, "/v1/subscriptions", &shipper_token(1))["items"]
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
}

/// Unknown routes, metrics and the audit trail
fn routes_metrics_and_audit(serve: &Serve, _world: &World, _namespace: &str) {
    let operator = OPERATOR_TOKEN;
    let (status, body) = get(serve, "/v2/nothing", Some(operator));
    assert_eq!((status, error_of(&body).as_str()), (404, "no such route"));
    // --protect-metrics: an operator's token, as for the API
    assert_eq!(get(serve, "/metrics", None).0, 401);
    assert_eq!(get(serve, "/metrics", Some(&shipper_token(0))).0, 403);
    let (status, metrics) = get(serve, "/metrics", Some(operator));
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
