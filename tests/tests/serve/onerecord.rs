//! IATA ONE Record on `kouan serve`, on the real broker: the server information; an air
//! shipment's Waybill, Shipment and Piece with the headers the API defines, and their
//! LogisticsEvents after each milestone, filtered; another shipper's objects not found; writes
//! refused with 405; a subscription to a logistics object notified once per new event at the
//! subscriber's ONE Record server, and revoked.

use super::fixtures::*;
use kouan_e2e::*;
use kouan_model::*;
use std::time::{Duration, Instant};

const CODES: [&str; 6] = ["BKD", "RCS", "MAN", "DEP", "ARR", "RCF"];

/// An air shipment with its first `version` statuses.
fn air_shipment(awb: &str, shipper: &str, version: u64) -> Status {
    let milestones = CODES[..version as usize]
        .iter()
        .enumerate()
        .map(|(i, code)| Milestone {
            recorded_time: Some(time(i as f64 + 0.05)),
            conveyance: matches!(*code, "MAN" | "DEP" | "ARR").then(|| TransportRef {
                mode: TransportMode::Air,
                reference: "CV9752-20260310".into(),
            }),
            ..Milestone::actual_at(
                code,
                time(i as f64),
                if i < 4 { "LULUX" } else { "CNCGO" },
                "cargolux",
                format!("{awb}-{code}"),
            )
        })
        .collect();
    Status {
        shipper: Some(shipper.into()),
        mode: Some(ShipmentMode::Air),
        document_type: Some(DocumentType::Awb),
        origin: Some("LULUX".into()),
        destination: Some("CNCGO".into()),
        milestones,
        ..Status::empty(awb)
    }
}

fn fetch(
    serve: &Serve,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    exchange(
        serve,
        method,
        path,
        token,
        body.map(|b| ("application/ld+json", b)),
    )
}

#[test]
fn onerecord_serves_air_shipments_and_notifies_each_new_event() {
    let (namespace, topics, publisher, dir) = setup("serve-onerecord");
    let auth = write_auth_file(&dir.0);
    let (awb, other) = ("784-00000011", "784-00000022");
    let publish = |version: u64| {
        publish_status(
            &publisher,
            &topics,
            &air_shipment(awb, "SHIPPER-1", version),
            version,
        );
        publish_status(
            &publisher,
            &topics,
            &air_shipment(other, "SHIPPER-2", version),
            version,
        );
        publisher.flush(Duration::from_secs(30)).unwrap();
    };
    publish(2);
    let serve = Serve::start(&namespace, &auth, ALLOW_LOOPBACK);
    let owner = shipper_token(1);
    let get = |path: &str, token: &str| fetch(&serve, reqwest::Method::GET, path, token, None);

    let (status, headers, info) = get("/onerecord/", &owner);
    assert_eq!(status, 200, "{info}");
    assert_eq!(headers["content-type"], "application/ld+json");
    assert_eq!(info["@type"], "api:ServerInformation");

    for (kind, type_iri) in [
        ("waybill", "Waybill"),
        ("shipment", "Shipment"),
        ("piece", "Piece"),
    ] {
        let (status, headers, object) = get(
            &format!("/onerecord/logistics-objects/{kind}-{awb}"),
            &owner,
        );
        assert_eq!(status, 200, "{object}");
        assert_eq!(
            headers["type"],
            format!("https://onerecord.iata.org/ns/cargo#{type_iri}")
        );
        assert_eq!(headers["revision"], "2");
        assert_eq!(headers["latest-revision"], "2");
        assert_eq!(headers["content-language"], "en-US");
        assert!(headers["last-modified"].to_str().unwrap().ends_with(" GMT"));
        assert_eq!(object["@type"], format!("cargo:{type_iri}"));
        assert!(object["@id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/onerecord/logistics-objects/{kind}-{awb}")));
    }
    let (_, _, waybill) = get(
        &format!("/onerecord/logistics-objects/waybill-{awb}"),
        &owner,
    );
    assert_eq!(
        (
            waybill["cargo:waybillPrefix"].as_str(),
            waybill["cargo:waybillNumber"].as_str()
        ),
        (Some("784"), Some("00000011"))
    );

    // the events after each milestone, as the object's LogisticsEvents
    let codes = |path: &str| -> Vec<String> {
        let (status, _, collection) = get(path, &owner);
        assert_eq!(status, 200, "{collection}");
        assert_eq!(collection["@type"], "api:Collection");
        let items = collection["api:hasItem"].as_array().unwrap();
        assert!(collection["api:hasTotalItems"].as_u64().unwrap() as usize >= items.len());
        items
            .iter()
            .map(|e| {
                assert_eq!(e["cargo:eventTimeType"]["@id"], "cargo:ACTUAL");
                let code = e["cargo:eventCode"]["cargo:code"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert_eq!(
                    e["cargo:eventCode"]["@id"],
                    format!("https://onerecord.iata.org/ns/code-lists/StatusCode#{code}")
                );
                code
            })
            .collect()
    };
    let events = format!("/onerecord/logistics-objects/shipment-{awb}/logistics-events");
    assert_eq!(codes(&events), ["BKD", "RCS"]);
    assert_eq!(codes(&format!("{events}?event-code=RCS")), ["RCS"]);
    assert_eq!(
        codes(&format!("{events}?sort=DESC-eventDate&limit=1")),
        ["RCS"]
    );

    // another shipper's objects are not there; writes are refused as a read-only holder
    let (status, headers, error) = get(
        &format!("/onerecord/logistics-objects/shipment-{awb}"),
        &shipper_token(2),
    );
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/ld+json");
    assert_eq!(error["api:hasErrorDetail"][0]["api:hasCode"], "404");
    let (status, _, error) = fetch(
        &serve,
        reqwest::Method::POST,
        "/onerecord/logistics-objects",
        &owner,
        Some(serde_json::json!({"@type": "cargo:Piece"})),
    );
    assert_eq!(status, 405, "{error}");
    assert_eq!(error["@type"], "api:Error");
    let (status, _, _) = fetch(
        &serve,
        reqwest::Method::PATCH,
        &format!("/onerecord/logistics-objects/shipment-{awb}"),
        &owner,
        Some(serde_json::json!({})),
    );
    assert_eq!(status, 405);

    // a subscription to the shipment, notified at the subscriber's ONE Record server
    let hook = receiver();
    let server = hook.url.trim_end_matches("/hooks/kouan").to_string();
    let subscription = serde_json::json!({
        "@context": {"api": "https://onerecord.iata.org/ns/api#"},
        "@type": "api:Subscription",
        "api:hasSubscriber": {"@id": format!("{server}/logistics-objects/forwarder")},
        "api:hasTopicType": {"@id": "api:LOGISTICS_OBJECT_IDENTIFIER"},
        "api:hasTopic": {"@type": "http://www.w3.org/2001/XMLSchema#anyURI", "@value": format!("{}/onerecord/logistics-objects/shipment-{awb}", serve.url)},
        "api:includeSubscriptionEventType": [{"@id": "api:LOGISTICS_EVENT_RECEIVED"}],
    });
    let (status, _, _) = fetch(
        &serve,
        reqwest::Method::POST,
        "/onerecord/subscriptions",
        &shipper_token(2),
        Some(subscription.clone()),
    );
    assert_eq!(status, 404, "another shipper cannot follow it");
    let (status, headers, _) = fetch(
        &serve,
        reqwest::Method::POST,
        "/onerecord/subscriptions",
        &owner,
        Some(subscription),
    );
    assert_eq!(status, 201);
    assert_eq!(
        headers["type"],
        "https://onerecord.iata.org/ns/api#SubscriptionRequest"
    );
    let location = headers["location"].to_str().unwrap().to_string();
    let request = &location[location.find("/onerecord/").unwrap()..];
    let (status, _, accepted) = get(request, &owner);
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(
        accepted["api:hasRequestStatus"]["@id"],
        "api:REQUEST_ACCEPTED"
    );

    // the events after each milestone
    for version in 3..=6 {
        publish(version);
        let want: Vec<&str> = CODES[..version as usize].to_vec();
        let started = Instant::now();
        while codes(&events) != want {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "v{version}: {:?}",
                codes(&events)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let want: Vec<String> = CODES
        .iter()
        .map(|code| format!("{}/onerecord/logistics-objects/shipment-{awb}/logistics-events/cargolux-{awb}-{code}", serve.url))
        .collect();
    let started = Instant::now();
    loop {
        let got: Vec<String> = hook
            .accepted
            .lock()
            .unwrap()
            .iter()
            .map(|(headers, body)| {
                assert_eq!(headers["content-type"], "application/ld+json");
                let notification: serde_json::Value = serde_json::from_slice(body).unwrap();
                assert_eq!(notification["@type"], "api:Notification");
                assert_eq!(
                    notification["api:hasEventType"]["@id"],
                    "api:LOGISTICS_EVENT_RECEIVED"
                );
                assert!(notification["api:hasLogisticsObject"]["@id"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("shipment-{awb}")));
                notification["api:hasLogisticsEvent"]["@id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let ends: Vec<String> = got
            .iter()
            .map(|g| g.rsplit('/').next().unwrap().to_string())
            .collect();
        let want_ends: Vec<String> = want
            .iter()
            .map(|w| w.rsplit('/').next().unwrap().to_string())
            .collect();
        if ends == want_ends {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "notified {ends:?}, want {want_ends:?} (each once, in order)"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // revoked: gone
    let (status, _, _) = fetch(&serve, reqwest::Method::DELETE, request, &owner, None);
    assert_eq!(status, 204);
    let (status, _, _) = get(request, &owner);
    assert_eq!(status, 404);
}
