//! `/openapi.json` describes the API as it answers: schemathesis (from PyPI, installed by
//! scripts/test) generates requests from the description — valid ones, boundary values and
//! invalid ones — for every operation, as an operator and as a shipper, and checks every answer
//! against it: no 5xx, only described status codes and content types, and every JSON body valid
//! against its schema.
//!
//! `/v1/feed` is left out of the generated requests: its answer is an endless event stream, which
//! a request-per-case tool cannot read to its end; the feed tests check it.

use super::fixtures::*;
use kouan_e2e::*;
use std::process::Command;

/// The checks that make "every answer conforms to the description".
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

fn schemathesis() -> String {
    std::env::var("KOUAN_TEST_SCHEMATHESIS").unwrap_or_else(|_| {
        panic!("KOUAN_TEST_SCHEMATHESIS names the schemathesis CLI: scripts/test installs it")
    })
}

#[test]
fn schemathesis_finds_every_answer_as_described() {
    let (namespace, topics, publisher, dir) = setup("serve-openapi");
    let world = world();
    publish_world(&publisher, &topics, &world);
    // rail shipments with equipment, transport and customs milestones: DCSA events to answer
    for (i, shipper) in ["SHIPPER-0", "SHIPPER-1"].iter().enumerate() {
        publish_status(
            &publisher,
            &topics,
            &rail_shipment(&format!("RAIL{i}"), shipper, 4),
            1,
        );
    }
    publisher.flush(std::time::Duration::from_secs(30)).unwrap();
    let auth = write_auth_file(&dir.0);
    // generated callback URLs name hosts at random: only a loopback receiver nobody listens on
    // is allowed, so no generated subscription reaches anything
    let serve = Serve::start(&namespace, &auth, &["--webhook-allow", "127.0.0.9"]);

    let (status, body) = get(&serve, "/openapi.json", None);
    assert_eq!(status, 200, "{body}");
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    // a real answer validates against the described schema's required fields
    let shipment = &world.statuses[0].shipment_id;
    let answer = get_json(&serve, &format!("/v1/shipments/{shipment}"), OPERATOR_TOKEN);
    let required = document["components"]["schemas"]["Status"]["required"]
        .as_array()
        .expect("the status schema lists its required fields");
    for field in required {
        let field = field.as_str().unwrap();
        assert!(answer.get(field).is_some(), "{field} missing from {answer}");
    }

    for (who, token) in [
        ("operator", OPERATOR_TOKEN.to_string()),
        ("shipper", shipper_token(0)),
    ] {
        // ids that exist, so that the generated requests reach past "not found": a shipment the
        // caller sees and a subscription of its own (deleted along the way, as it may be)
        let shipment = &world
            .statuses
            .iter()
            .find(|s| s.shipper.as_deref() == Some("SHIPPER-0"))
            .expect("the world has SHIPPER-0's shipments")
            .shipment_id;
        let (status, body) = post_json(
            &serve,
            "/v1/subscriptions",
            &token,
            serde_json::json!({"callbackUrl": "http://127.0.0.9:9/hook", "secret": "a-secret-of-24-characters"}),
        );
        assert_eq!(status, 201, "{body}");
        let subscription: serde_json::Value = serde_json::from_str(&body).unwrap();
        let subscription = subscription["id"].as_str().unwrap();
        let (status, body) = post_json(
            &serve,
            "/dcsa/tnt/v2/event-subscriptions",
            &token,
            serde_json::json!({"callbackUrl": "http://127.0.0.9:9/dcsa", "secret": "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="}),
        );
        assert_eq!(status, 201, "{body}");
        let dcsa: serde_json::Value = serde_json::from_str(&body).unwrap();
        let dcsa = dcsa["subscriptionID"].as_str().unwrap();
        let events = get_json(&serve, "/dcsa/tnt/v2/events?limit=1", &token);
        let event = events[0]["eventID"]
            .as_str()
            .expect("the caller has DCSA events");
        // a ONE Record subscription of its own, and an air shipment's logistics objects
        let response = client()
            .post(format!("{}/onerecord/subscriptions", serve.url))
            .bearer_auth(&token)
            .header("Content-Type", "application/ld+json")
            .body(
                serde_json::json!({
                    "@type": "api:Subscription",
                    "api:hasSubscriber": {"@id": "http://127.0.0.9:9/logistics-objects/org"},
                    "api:hasTopicType": {"@id": "api:LOGISTICS_OBJECT_TYPE"},
                    "api:hasTopic": "https://onerecord.iata.org/ns/cargo#Shipment",
                })
                .to_string(),
            )
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let request = location.rsplit('/').next().unwrap().to_string();
        let air = format!("shipment-{shipment}");
        let config = dir.0.join(format!("schemathesis-{who}.toml"));
        std::fs::write(
            &config,
            format!(
                "[[operations]]\ninclude-path = \"/v1/shipments/{{id}}\"\nparameters = {{ id = \"{shipment}\" }}\n\n\
                 [[operations]]\ninclude-path-regex = \"^/v1/subscriptions/\"\nparameters = {{ id = \"{subscription}\" }}\n\n\
                 [[operations]]\ninclude-path = \"/dcsa/tnt/v2/events/{{eventID}}\"\nparameters = {{ eventID = \"{event}\" }}\n\n\
                 [[operations]]\ninclude-path-regex = \"^/dcsa/tnt/v2/event-subscriptions/\"\nparameters = {{ subscriptionID = \"{dcsa}\" }}\n\n\
                 [[operations]]\ninclude-path-regex = \"^/onerecord/logistics-objects/\"\nparameters = {{ id = \"{air}\" }}\n\n\
                 [[operations]]\ninclude-path-regex = \"^/onerecord/action-requests/\"\nparameters = {{ id = \"{request}\" }}\n"
            ),
        )
        .unwrap();
        let report = dir.0.join(format!("schemathesis-{who}.xml"));
        let output = Command::new(schemathesis())
            // its caches go beside the test's other files, not into the source tree
            .current_dir(&dir.0)
            .arg("--config-file")
            .arg(&config)
            .args(["run", &format!("{}/openapi.json", serve.url)])
            .args(["--checks", CHECKS])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--exclude-path", "/v1/feed"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", "25", "--seed", "20261201"])
            .args(["--request-timeout", "15", "--workers", "1"])
            .args(["--suppress-health-check", "all", "--no-color"])
            .args(["--generation-database", "none"])
            .args(["--report", "junit", "--report-junit-path"])
            .arg(&report)
            .output()
            .expect("schemathesis runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "schemathesis as {who} found answers that do not conform:\n{stdout}\n{stderr}"
        );
        eprintln!("schemathesis as {who}:\n{stdout}");
        // it did test: every operation but the feed, with cases
        let junit = std::fs::read_to_string(&report).unwrap();
        let cases = junit.matches("<testcase").count();
        assert!(
            cases >= 14,
            "{who}: only {cases} operations tested:\n{stdout}"
        );
    }
    // no request, however generated, made the server fail
    assert!(
        serve.service.last_log_line("\"request failed\"").is_none(),
        "the server logged a failure"
    );
}
