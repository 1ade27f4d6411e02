//! DCSA Track & Trace 2.2 on `kouan serve`, on the real broker. A simulated week's events,
//! their statuses derived by the reference derivation and published onto `kouan.status`:
//! - the DCSA events served equal, event for event, what the mapping says for the events
//!   themselves (docs/standards/dcsa-out.md; equipment and transport events through the DCSA
//!   writer, which maps an event and not a milestone, bookings and customs through the table);
//! - every filter and every comparison form of `eventCreatedDateTime` gives what the filter says
//!   of those events; cursor paging goes to the end with nothing repeated or skipped while new
//!   events arrive;
//! - a shipper sees exactly the events of its own shipments, through every filter and cursor,
//!   and another shipper's event is not found.

use super::fixtures::dcsa::*;
use super::fixtures::*;
use kouan_e2e::*;
use kouan_model::*;
use std::collections::BTreeSet;

#[test]
fn dcsa_events_are_the_mapping_of_a_simulated_week_for_every_filter_and_caller() {
    let (namespace, topics, publisher, dir) = setup("serve-dcsa");
    let events = simulated_week(&namespace, &dir.0);
    let statuses = kouan_processor::reference(&events);
    let expected = expected(&events, &statuses);
    assert!(
        expected.len() > 2000,
        "a week gives thousands of DCSA events"
    );
    for (version, status) in statuses.values().enumerate() {
        publish_status(&publisher, &topics, status, 1 + version as u64);
    }
    publisher.flush(std::time::Duration::from_secs(30)).unwrap();
    // a token per simulated shipper
    let shippers: BTreeSet<&str> = statuses
        .values()
        .filter_map(|s| s.shipper.as_deref())
        .collect();
    let token_of = |shipper: &str| format!("tok-{shipper}");
    let mut auth = format!("{OPERATOR_TOKEN} operator\n");
    for shipper in &shippers {
        auth.push_str(&format!("{} shipper {shipper}\n", token_of(shipper)));
    }
    let auth_file = dir.0.join("auth-dcsa.txt");
    std::fs::write(&auth_file, auth).unwrap();
    let serve = Serve::start(&namespace, &auth_file, &[]);

    // the operator: every event, event for event, with every booking holding it
    let served = by_key(&walk_events(
        &serve,
        "/dcsa/tnt/v2/events?limit=500",
        OPERATOR_TOKEN,
        |_| {},
    ));
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !served.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = served
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} expected, {} served; missing {missing:?}, extra {extra:?}",
        expected.len(),
        served.len()
    );
    for (key, want) in &expected {
        let (projection, bookings) = &served[key];
        assert_eq!(projection, &want.projection, "{key:?}");
        if want.projection["eventType"] != "SHIPMENT" {
            assert_eq!(bookings, &want.bookings, "{key:?}");
        }
    }

    // every filter and comparison form, against the same filter applied to the expectation
    let sample = |field: &str| -> String {
        let values: Vec<&String> = expected
            .values()
            .filter_map(|e| e.projection.get(field))
            .collect();
        assert!(!values.is_empty(), "no {field}");
        values[values.len() / 2].clone()
    };
    let booking = expected
        .values()
        .find(|e| e.projection["eventType"] == "EQUIPMENT")
        .unwrap()
        .bookings
        .iter()
        .next()
        .unwrap()
        .clone();
    let middle = expected.keys().nth(expected.len() / 2).unwrap().1.clone();
    let middle_millis = Timestamp::parse(&middle).unwrap().unix_millis();
    let created = |e: &Expected| {
        Timestamp::parse(&e.projection["eventCreatedDateTime"])
            .unwrap()
            .unix_millis()
    };
    type Check<'a> = Box<dyn Fn(&Expected) -> bool + 'a>;
    let field_is = |field: &'static str, value: String| -> Check {
        Box::new(move |e| e.projection.get(field) == Some(&value))
    };
    let unit = sample("equipmentReference");
    let voyage = sample("voyage");
    let place = sample("place");
    let encoded = |time: &str| time.replace('+', "%2B");
    let cases: Vec<(String, Check)> = vec![
        (
            "eventType=EQUIPMENT,TRANSPORT".into(),
            Box::new(|e| e.projection["eventType"] != "SHIPMENT"),
        ),
        (
            "shipmentEventTypeCode=RELS,SUBM".into(),
            Box::new(|e| {
                matches!(
                    e.projection
                        .get("shipmentEventTypeCode")
                        .map(String::as_str),
                    Some("RELS" | "SUBM")
                )
            }),
        ),
        (
            "documentTypeCode=CUS".into(),
            field_is("documentTypeCode", "CUS".into()),
        ),
        (
            format!("carrierBookingReference={booking}"),
            Box::new(|e| e.bookings.contains(&booking)),
        ),
        (
            format!("transportDocumentReference={booking}"),
            Box::new(|e| e.bookings.contains(&booking)),
        ),
        (
            "transportEventTypeCode=ARRI".into(),
            field_is("transportEventTypeCode", "ARRI".into()),
        ),
        ("vesselIMONumber=9321483".into(), Box::new(|_| false)),
        ("carrierServiceCode=FE1".into(), Box::new(|_| false)),
        (
            format!("exportVoyageNumber={voyage}"),
            field_is("voyage", voyage.clone()),
        ),
        (
            format!("UNLocationCode={place}"),
            field_is("place", place.clone()),
        ),
        (
            "equipmentEventTypeCode=GTIN,GTOT".into(),
            Box::new(|e| {
                matches!(
                    e.projection
                        .get("equipmentEventTypeCode")
                        .map(String::as_str),
                    Some("GTIN" | "GTOT")
                )
            }),
        ),
        (
            format!("equipmentReference={unit}"),
            field_is("equipmentReference", unit.clone()),
        ),
        (
            format!("eventCreatedDateTime:gte={}", encoded(&middle)),
            Box::new(|e| created(e) >= middle_millis),
        ),
        (
            format!("eventCreatedDateTime:gt={}", encoded(&middle)),
            Box::new(|e| created(e) > middle_millis),
        ),
        (
            format!("eventCreatedDateTime:lte={}", encoded(&middle)),
            Box::new(|e| created(e) <= middle_millis),
        ),
        (
            format!("eventCreatedDateTime:lt={}", encoded(&middle)),
            Box::new(|e| created(e) < middle_millis),
        ),
        (
            format!("eventCreatedDateTime:eq={}", encoded(&middle)),
            Box::new(|e| created(e) == middle_millis),
        ),
        (
            format!("eventCreatedDateTime={}", encoded(&middle)),
            Box::new(|e| created(e) == middle_millis),
        ),
        (
            format!("eventType=EQUIPMENT&equipmentEventTypeCode=LOAD&UNLocationCode={place}"),
            Box::new(|e| {
                e.projection
                    .get("equipmentEventTypeCode")
                    .map(String::as_str)
                    == Some("LOAD")
                    && e.projection.get("place") == Some(&place)
            }),
        ),
    ];
    for (query, check) in &cases {
        let got: BTreeSet<_> = by_key(&walk_events(
            &serve,
            &format!("/dcsa/tnt/v2/events?limit=300&{query}"),
            OPERATOR_TOKEN,
            |_| {},
        ))
        .into_keys()
        .collect();
        let want: BTreeSet<_> = expected
            .iter()
            .filter(|(_, e)| check(e))
            .map(|(k, _)| k.clone())
            .collect();
        let missing: Vec<_> = want.difference(&got).take(3).collect();
        let extra: Vec<_> = got.difference(&want).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{query}: {} served, {} expected; missing {missing:?}, extra {extra:?}",
            got.len(),
            want.len()
        );
    }
    // the transport call's id filters its arrival and departure
    let (_, _, first) = fetch(
        &serve,
        "/dcsa/tnt/v2/events?eventType=TRANSPORT&limit=1",
        OPERATOR_TOKEN,
    );
    let call = first[0]["transportCall"]["transportCallID"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, same_call) = fetch(
        &serve,
        &format!("/dcsa/tnt/v2/events?transportCallID={call}&limit=1000"),
        OPERATOR_TOKEN,
    );
    for event in same_call.as_array().unwrap() {
        assert_eq!(event["transportCall"]["transportCallID"], call.as_str());
    }
    // descending is the reverse
    let ascending: Vec<_> = by_key(&walk_events(
        &serve,
        "/dcsa/tnt/v2/events?limit=700",
        OPERATOR_TOKEN,
        |_| {},
    ))
    .into_keys()
    .collect();
    let descending = walk_events(
        &serve,
        "/dcsa/tnt/v2/events?limit=700&sort=eventCreatedDateTime:DESC",
        OPERATOR_TOKEN,
        |_| {},
    );
    let descending: Vec<_> = descending
        .iter()
        .map(|e| {
            (
                e["eventID"].as_str().unwrap().to_string(),
                e["eventCreatedDateTime"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(descending.len(), ascending.len());
    // errors: DCSA's body naming the parameter
    for query in [
        "eventType=AIR",
        "limit=0",
        "sort=eventDateTime",
        "shipper=x",
        "eventCreatedDateTime:gte=yesterday",
        "cursor=nope",
    ] {
        let (status, headers, json) = fetch(
            &serve,
            &format!("/dcsa/tnt/v2/events?{query}"),
            OPERATOR_TOKEN,
        );
        assert_eq!(status, 400, "{query}");
        assert_eq!(headers["api-version"], "2.2.0");
        assert_eq!(json["statusCode"], 400);
        assert_eq!(json["httpMethod"], "GET");
        let name = query.split('=').next().unwrap();
        assert!(
            json["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with(name),
            "{json}"
        );
    }

    // each shipper: exactly its own shipments' events, through the filters and the cursor
    for shipper in &shippers {
        let token = token_of(shipper);
        let served = by_key(&walk_events(
            &serve,
            "/dcsa/tnt/v2/events?limit=200",
            &token,
            |_| {},
        ));
        let own: BTreeSet<&str> = statuses
            .values()
            .filter(|s| s.shipper.as_deref() == Some(*shipper))
            .map(|s| s.shipment_id.as_str())
            .collect();
        let want: BTreeSet<_> = expected
            .iter()
            .filter(|(_, e)| e.shippers.contains(*shipper))
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(
            served.keys().cloned().collect::<BTreeSet<_>>(),
            want,
            "{shipper}"
        );
        for (key, (_, bookings)) in &served {
            assert!(
                bookings.iter().all(|b| own.contains(b.as_str())),
                "{shipper} sees another's booking in {key:?}"
            );
        }
        // another's event and booking are not there
        let (other_key, _) = expected
            .iter()
            .find(|(_, e)| !e.shippers.contains(*shipper))
            .unwrap();
        let (status, _, json) = fetch(
            &serve,
            &format!("/dcsa/tnt/v2/events/{}", other_key.0),
            &token,
        );
        assert_eq!(status, 404, "{json}");
        assert_eq!(json["statusCode"], 404);
        let other_booking = statuses
            .values()
            .find(|s| s.shipper.as_deref() != Some(*shipper) && s.mode != Some(ShipmentMode::Air))
            .unwrap();
        let (_, _, none) = fetch(
            &serve,
            &format!(
                "/dcsa/tnt/v2/events?carrierBookingReference={}",
                other_booking.shipment_id
            ),
            &token,
        );
        assert_eq!(none, serde_json::json!([]), "{shipper}");
    }

    // paging to the end while new events arrive: each once, none of the first ones skipped
    let before: BTreeSet<_> = expected.keys().cloned().collect();
    let mut added = BTreeSet::new();
    let mut version = 10_000;
    let walked = walk_events(
        &serve,
        "/dcsa/tnt/v2/events?limit=250",
        OPERATOR_TOKEN,
        |page| {
            if page > 6 {
                return;
            }
            // one new shipment per page: one event behind every cursor, one ahead of them
            let id = format!("NEWDCSA{page:04}");
            let status = new_status(&id, shippers.iter().next().unwrap(), page);
            for milestone in &status.milestones {
                added.insert((
                    kouan_standards::dcsa::write::event_uuid(
                        &milestone.source,
                        &milestone.event_id,
                    ),
                    milestone.recorded_time.unwrap().to_rfc3339(),
                ));
            }
            version += 1;
            publish_status(&publisher, &topics, &status, version);
            publisher.flush(std::time::Duration::from_secs(30)).unwrap();
        },
    );
    let walked = by_key(&walked);
    assert!(
        before.iter().all(|k| walked.contains_key(k)),
        "a first event was skipped"
    );
    assert!(
        walked
            .keys()
            .all(|k| before.contains(k) || added.contains(k)),
        "an unknown event"
    );
    assert!(
        walked.keys().any(|k| added.contains(k)),
        "events ahead of the cursor are found"
    );
}
