//! Every rejection rule of EVENTS.md names the field and the reason; the valid fixtures pass.

use kouan_model::{ndjson, protobuf};

#[derive(serde::Deserialize)]
struct Case {
    case: String,
    field: String,
    input: String,
}

fn invalid_cases() -> Vec<Case> {
    serde_json::from_str(include_str!("../../../tests/fixtures/invalid.json")).unwrap()
}

#[test]
fn every_invalid_fixture_is_rejected_naming_its_field() {
    let cases = invalid_cases();
    assert!(cases.len() >= 15);
    for case in cases {
        match ndjson::decode_line(case.input.as_bytes()) {
            Ok(event) => panic!("{}: accepted {event:?}", case.case),
            Err(reject) => {
                assert_eq!(reject.field, case.field, "{}: {reject}", case.case);
                assert!(!reject.reason.is_empty(), "{}", case.case);
            }
        }
    }
}

#[test]
fn every_valid_fixture_passes_and_survives_protobuf() {
    let lines: Vec<&str> = include_str!("../../../tests/fixtures/valid.ndjson")
        .lines()
        .collect();
    assert!(lines.len() >= 10);
    for line in lines {
        let event = ndjson::decode_line(line.as_bytes()).unwrap_or_else(|e| panic!("{e}: {line}"));
        let back = protobuf::decode_event(&protobuf::encode_event(&event)).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn reasons_say_what_is_wrong() {
    let reason = |input: &str| {
        ndjson::decode_line(input.as_bytes())
            .unwrap_err()
            .to_string()
    };
    let cases = invalid_cases();
    let find = |name: &str| &cases.iter().find(|c| c.case == name).unwrap().input;
    assert!(reason(find("container check digit")).contains("check digit 4, expected 3"));
    assert!(reason(find("awb check digit")).contains("check digit 0, expected 5"));
    assert!(reason(find("unknown enum value")).contains("unknown value `LAOD`"));
    assert!(reason(find("time without offset")).contains("offset"));
    assert!(reason(find("act event in the future")).contains("24 h"));
    assert!(reason(find("declaration number length")).contains("18 digits"));
    assert!(reason(find("two bodies")).contains("more than one body"));
}

#[test]
fn protobuf_rejections_name_fields_too() {
    use kouan_model::pb;
    use prost::Message;
    let mut message = protobuf::to_proto(
        &ndjson::decode_line(
            include_str!("../../../tests/fixtures/valid.ndjson")
                .lines()
                .next()
                .unwrap()
                .as_bytes(),
        )
        .unwrap(),
    );
    message.event_id.clear();
    assert_eq!(
        protobuf::decode_event(&message.encode_to_vec())
            .unwrap_err()
            .field,
        "eventId"
    );
    message.event_id = "x".into();
    if let Some(pb::event::Body::Shipment(body)) = &mut message.body {
        body.mode = 99;
    }
    assert_eq!(
        protobuf::decode_event(&message.encode_to_vec())
            .unwrap_err()
            .field,
        "shipment.mode"
    );
    message.body = None;
    assert_eq!(
        protobuf::decode_event(&message.encode_to_vec())
            .unwrap_err()
            .field,
        "(body)"
    );
    assert_eq!(
        protobuf::decode_event(b"\xff\xff\xff").unwrap_err().field,
        "(protobuf)"
    );
}

#[test]
fn act_rule_spares_estimates_and_plans() {
    let line = |classifier: &str| {
        format!(
            r#"{{"eventId":"e","source":"s","eventTime":"2026-12-20T08:00:00+08:00","recordedTime":"2026-11-20T08:00:00+08:00","classifier":"{classifier}","transport":{{"type":"ARRIVED","mode":"RAIL","reference":"X1"}}}}"#
        )
    };
    assert!(ndjson::decode_line(line("EST").as_bytes()).is_ok());
    assert!(ndjson::decode_line(line("PLN").as_bytes()).is_ok());
    assert!(ndjson::decode_line(line("ACT").as_bytes()).is_err());
}

#[test]
fn canonical_json_sorts_keys() {
    let event = ndjson::decode_line(
        include_str!("../../../tests/fixtures/valid.ndjson")
            .lines()
            .nth(1)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let canonical = event.canonical_json();
    assert!(
        canonical.starts_with(r#"{"equipment":{"emptyIndicator":"LADEN","#),
        "{canonical}"
    );
}
