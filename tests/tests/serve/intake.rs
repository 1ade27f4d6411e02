//! The event intake on a real `kouan serve` and broker: a producer's messages taken and on the
//! event topics when answered; an event of a source the token does not publish as refused and
//! dead-lettered; read routes refused to a producer and the intake to everyone else; a carrier's
//! DCSA callback taken with its subscription's signature and refused without it; a body over the
//! cap refused.

use super::fixtures::*;
use kouan_e2e::*;
use std::time::Duration;

const PRODUCER_TOKEN: &str = "producer-token-0001";
/// DCSA's `secret`: base64 of the bytes shared with the carrier.
const SECRET: &str = "a291YW4tdGVzdC1zZWNyZXQtb2YtMzItYnl0ZXMhIQ==";
const SUBSCRIPTION: &str = "0b6d7c42-4c5e-4a58-9d2a-6a1f3c1a9e11";

fn xfsu(sender: &str) -> String {
    format!(
        r#"<rsm:StatusMessage xmlns:rsm="iata:statusmessage:1" xmlns:ram="iata:datamodel:3">
<rsm:MessageHeaderDocument><ram:ID>T1</ram:ID><ram:IssueDateTime>2026-11-20T08:35:00</ram:IssueDateTime>
<ram:PurposeCode>Creation</ram:PurposeCode><ram:SenderParty><ram:PrimaryID>{sender}</ram:PrimaryID></ram:SenderParty></rsm:MessageHeaderDocument>
<rsm:MasterConsignment><ram:TransportContractDocument><ram:ID>784-12345675</ram:ID></ram:TransportContractDocument>
<ram:ReportedStatus><ram:ReasonCode>RCS</ram:ReasonCode><ram:AssociatedStatusConsignment><ram:PieceQuantity>12</ram:PieceQuantity>
<ram:SpecifiedLogisticsTransportMovement><ram:SpecifiedLocation><ram:ID>CGO</ram:ID></ram:SpecifiedLocation>
<ram:SpecifiedEvent><ram:OccurrenceDateTime>2026-11-20T08:30:00</ram:OccurrenceDateTime><ram:DateTimeTypeCode>A</ram:DateTimeTypeCode></ram:SpecifiedEvent>
</ram:SpecifiedLogisticsTransportMovement></ram:AssociatedStatusConsignment></ram:ReportedStatus></rsm:MasterConsignment></rsm:StatusMessage>"#
    )
}

const DCSA_EVENTS: &str = r#"[{"eventID":"5e51e72c-d872-4f1b-8e1c-6b1a6d3a3a01","eventType":"EQUIPMENT",
  "eventClassifierCode":"ACT","eventDateTime":"2026-11-20T08:15:00+08:00",
  "eventCreatedDateTime":"2026-11-20T08:20:00+08:00","equipmentEventTypeCode":"GTIN",
  "equipmentReference":"CSQU3054383","emptyIndicatorCode":"LADEN",
  "transportCall":{"modeOfTransport":"RAIL","exportVoyageNumber":"X8001-20261120","UNLocationCode":"CNZZP"}}]"#;

fn post(serve: &Serve, path: &str, token: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let mut request = client()
        .post(format!("{}{path}", serve.url))
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

fn callback(serve: &Serve, signature: &str, body: &str) -> u16 {
    client()
        .post(format!("{}/v1/intake/dcsa/callback", serve.url))
        .header("Subscription-ID", SUBSCRIPTION)
        .header("Notification-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn producers_publish_as_their_own_sources_and_carriers_by_their_signature() {
    let (namespace, topics, _publisher, dir) = setup("serve-intake");
    let auth = write_auth_file(&dir.0);
    let mut text = std::fs::read_to_string(&auth).unwrap();
    text.push_str(&format!(
        "{PRODUCER_TOKEN} producer cgo-cargo,zz-rail-dcsa\n"
    ));
    std::fs::write(&auth, text).unwrap();
    let zones = dir.0.join("zones");
    std::fs::write(&zones, "cgo-cargo Asia/Shanghai\nCGOFMCZ Asia/Shanghai\n").unwrap();
    let subscriptions = dir.0.join("subscriptions");
    std::fs::write(
        &subscriptions,
        format!("{SUBSCRIPTION} carrier-x {SECRET}\n"),
    )
    .unwrap();
    let serve = Serve::start(
        &namespace,
        &auth,
        &[
            "--source-zones",
            zones.to_str().unwrap(),
            "--dcsa-subscriptions",
            subscriptions.to_str().unwrap(),
            "--intake-max-bytes",
            "4096",
        ],
    );

    // a producer's XFSU, its sender one of the token's sources: taken
    let (status, answer) = post(
        &serve,
        "/v1/intake/cargo-xml",
        Some(PRODUCER_TOKEN),
        &xfsu("cgo-cargo"),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["taken"].as_u64(), answer["rejected"].as_u64()),
        (Some(1), Some(0)),
        "{answer}"
    );
    // the same as another sender: refused, named, and dead-lettered
    let (status, answer) = post(
        &serve,
        "/v1/intake/cargo-xml",
        Some(PRODUCER_TOKEN),
        &xfsu("CGOFMCZ"),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["taken"], 0, "{answer}");
    let reason = answer["messages"][0]["rejected"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("source \"CGOFMCZ\" is not one this token publishes as"),
        "{answer}"
    );
    // DCSA events name no sender: the token's source chosen with ?source=, or refused
    let (status, answer) = post(
        &serve,
        "/v1/intake/dcsa?source=zz-rail-dcsa",
        Some(PRODUCER_TOKEN),
        DCSA_EVENTS,
    );
    assert_eq!(
        (status, answer["taken"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let (status, answer) = post(
        &serve,
        "/v1/intake/dcsa?source=zz-yard",
        Some(PRODUCER_TOKEN),
        DCSA_EVENTS,
    );
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = post(&serve, "/v1/intake/dcsa", Some(PRODUCER_TOKEN), DCSA_EVENTS);
    assert_eq!(
        (status, answer["rejected"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );

    // roles: only a producer publishes, and a producer reads nothing
    let (status, _) = post(
        &serve,
        "/v1/intake/cargo-xml",
        Some(OPERATOR_TOKEN),
        &xfsu("cgo-cargo"),
    );
    assert_eq!(status, 403);
    let (status, _) = post(&serve, "/v1/intake/cargo-xml", None, &xfsu("cgo-cargo"));
    assert_eq!(status, 401);
    let (status, body) = get(&serve, "/v1/shipments", Some(PRODUCER_TOKEN));
    assert_eq!(status, 403, "{body}");
    let (status, _) = post(&serve, "/v1/intake/x12", Some(PRODUCER_TOKEN), "");
    assert_eq!(status, 400);
    // over the cap
    let (status, answer) = post(
        &serve,
        "/v1/intake/ndjson",
        Some(PRODUCER_TOKEN),
        &"x".repeat(5000),
    );
    assert_eq!(status, 413, "{answer}");

    // a carrier's callback: its subscription's signature, or nothing
    let signature = kouan_query::ingest::callbacks::sign(SECRET, DCSA_EVENTS.as_bytes()).unwrap();
    assert_eq!(callback(&serve, &signature, DCSA_EVENTS), 204);
    let tampered = DCSA_EVENTS.replace("GTIN", "GTOT");
    assert_eq!(callback(&serve, &signature, &tampered), 401);
    assert_eq!(callback(&serve, "sha256=00", DCSA_EVENTS), 401);
    // the headers are checked before the body is read: a stranger's big body is refused as a
    // stranger's (401), a subscription's over the cap as too large (413)
    let big = "x".repeat(10_000);
    let stranger = client()
        .post(format!("{}/v1/intake/dcsa/callback", serve.url))
        .header("Subscription-ID", "not-a-subscription")
        .header("Notification-Signature", "sha256=00")
        .body(big.clone())
        .send()
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(stranger, 401);
    assert_eq!(callback(&serve, &signature, &big), 413);

    // on the topics: the three taken events, and the two rejections with their reasons
    let events = read_events(&brokers(), &topics);
    let mut sources: Vec<&str> = events.iter().map(|event| &*event.source).collect();
    sources.sort_unstable();
    assert_eq!(
        sources,
        ["carrier-x", "cgo-cargo", "zz-rail-dcsa"],
        "{events:?}"
    );
    let dead = read_topic(
        &brokers(),
        &topics.deadletter(),
        2,
        Duration::from_secs(2),
        Duration::from_secs(30),
    );
    assert_eq!(dead.len(), 2);
    let reasons: Vec<String> = dead
        .iter()
        .map(|record| record.header(kouan_bus::headers::REJECT_REASON).unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("is not one this token publishes as")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("--source")),
        "{reasons:?}"
    );
}
