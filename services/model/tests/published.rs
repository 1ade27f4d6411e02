//! The published records' decoders never panic, whatever bytes a topic holds, and what they accept
//! round-trips: status records (with their JSON form) and alert records.

use kouan_model::{
    pb, Alert, AlertKind, AlertState, PublishedStatus, Status, StatusView, Timestamp,
};
use proptest::prelude::*;
use prost::Message;

fn alert(started: i64, updated: i64, resolved: Option<i64>, hours: f64) -> Alert {
    Alert {
        alert_id: "a-1".into(),
        shipment_id: "S1".into(),
        shipper: Some("henan-elec".into()),
        kind: AlertKind::Dwell,
        state: AlertState::Firing,
        node: "PLMAW".into(),
        stage: "IN_TRANSIT".into(),
        observed_hours: hours,
        threshold_hours: 72.0,
        baseline: "cold start".into(),
        started_at_millis: started,
        updated_at_millis: updated,
        resolved_at_millis: resolved,
        message: "dwell".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn status_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(published) = PublishedStatus::decode(&bytes) {
            // whatever is accepted renders and re-encodes
            let _ = published.status.to_json(published.version, published.updated_at.as_ref());
        }
    }

    #[test]
    fn alert_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(alert) = Alert::decode(&bytes) {
            let _ = alert.to_json();
            let again = Alert::decode(&alert.to_proto().encode_to_vec()).expect("re-decodes");
            prop_assert_eq!(again.alert_id, alert.alert_id);
        }
    }

    #[test]
    fn alert_times_out_of_range_are_rejected_not_panics(seconds in any::<i64>(), nanos in any::<u32>(), offset in any::<i32>()) {
        let mut record = alert(0, 0, None, 1.0).to_proto();
        record.started_at = Some(pb::Time { unix_seconds: seconds, nanos, offset_seconds: offset });
        match Alert::from_proto(record) {
            Ok(alert) => prop_assert!(Timestamp::from_unix_millis(alert.started_at_millis).is_some()),
            Err(reject) => prop_assert_eq!(reject.field, "startedAt"),
        }
    }
}

#[test]
fn alerts_round_trip_and_non_finite_hours_are_null() {
    let original = alert(
        1_790_000_000_000,
        1_790_000_360_000,
        Some(1_790_000_720_000),
        12.5,
    );
    let back = Alert::decode(&original.to_proto().encode_to_vec()).unwrap();
    assert_eq!(back, original);
    let json: serde_json::Value =
        serde_json::from_str(&alert(0, 0, None, f64::NAN).to_json()).unwrap();
    assert!(json["observedHours"].is_null(), "{json}");
    assert_eq!(json["startedAt"], "1970-01-01T00:00:00+00:00");
}

#[test]
fn a_status_without_its_id_is_rejected_by_name() {
    let record = Status::empty("").to_proto(1, &Timestamp::from_unix_millis(0).unwrap());
    let reject = PublishedStatus::decode(&record.encode_to_vec()).unwrap_err();
    assert_eq!(reject.field, "shipmentId");
}

/// A `Time` of the years the model accepts (and a few offsets), or none.
fn time() -> impl Strategy<Value = Option<pb::Time>> {
    prop::option::of(
        (
            -62_000_000_000i64..253_000_000_000,
            0u32..1_000_000_000,
            -14i32..=14,
        )
            .prop_map(|(unix_seconds, nanos, hours)| pb::Time {
                unix_seconds,
                nanos,
                offset_seconds: hours * 3600,
            }),
    )
}

fn text() -> impl Strategy<Value = String> {
    "[A-Z0-9é-]{0,12}"
}

fn location() -> impl Strategy<Value = Option<pb::Location>> {
    prop::option::of(
        (text(), prop::option::of(text()), prop::option::of(text())).prop_map(
            |(unlocode, facility, name)| pb::Location {
                unlocode,
                facility,
                name,
            },
        ),
    )
}

fn milestone() -> impl Strategy<Value = pb::Milestone> {
    (
        prop::sample::select(vec!["LOAD", "DEP", "RELEASED", "GTOT", "BOOKED", "NOPE"]),
        time(),
        -1i32..5,
        location(),
        text(),
        text(),
        (
            time(),
            prop::option::of(text()),
            prop::option::of(-1i32..4),
            prop::option::of((-1i32..7, text())),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                code,
                event_time,
                classifier,
                location,
                source,
                event_id,
                (recorded_time, unit, empty_indicator, conveyance, declaration),
            )| pb::Milestone {
                code: code.to_string(),
                event_time,
                classifier,
                location,
                source,
                event_id,
                recorded_time,
                unit,
                empty_indicator,
                conveyance: conveyance
                    .map(|(mode, reference)| pb::TransportRef { mode, reference }),
                declaration,
            },
        )
}

/// Records with every field set or not, enum numbers in and out of range.
fn status_record() -> impl Strategy<Value = pb::ShipmentStatus> {
    let texts = (
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec(text(), 0..3),
    );
    let codes = (-1i32..5, -1i32..5, -1i32..5, -1i32..8, -1i32..9);
    let times = prop::collection::vec(time(), 10);
    let rest = (
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::option::of(-1e6f64..1e6),
        location(),
        prop::collection::vec(milestone(), 0..5),
        any::<u64>(),
    );
    (texts, codes, times, rest).prop_map(
        |(
            (shipment_id, shipper, origin, destination, port_of_entry, units),
            (document_type, mode, direction, customs_status, transport_stage),
            times,
            (inspected, advance_declared, clearance_hours, last_location, milestones, version),
        )| pb::ShipmentStatus {
            shipment_id,
            document_type,
            shipper,
            mode,
            direction,
            origin,
            destination,
            port_of_entry,
            units,
            booked_at: times[0],
            received_at: times[1],
            departed_at: times[2],
            arrived_at: times[3],
            delivered_at: times[4],
            declared_at: times[5],
            customs_status,
            released_at: times[6],
            inspected,
            transport_stage,
            advance_declared,
            clearance_hours,
            eta: times[7],
            last_location,
            dwell_since: times[8],
            milestones,
            version,
            updated_at: times[9],
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the decoder accepts, the borrowed view reads the same values.
    #[test]
    fn the_view_reads_what_the_decoder_reads(record in status_record()) {
        let bytes = record.encode_to_vec();
        let Ok(published) = PublishedStatus::decode(&bytes) else {
            return Ok(());
        };
        let view = StatusView::read(&bytes).expect("an accepted record reads");
        let status = &published.status;
        let millis = |time: &Option<Timestamp>| time.as_ref().map(Timestamp::unix_millis);
        prop_assert_eq!(view.shipment_id, status.shipment_id.as_str());
        prop_assert_eq!(view.document_type, status.document_type);
        prop_assert_eq!(view.shipper, status.shipper.as_deref());
        prop_assert_eq!(view.mode, status.mode);
        prop_assert_eq!(view.direction, status.direction);
        prop_assert_eq!(view.origin, status.origin.as_deref());
        prop_assert_eq!(view.destination, status.destination.as_deref());
        prop_assert_eq!(view.port_of_entry, status.port_of_entry.as_deref());
        prop_assert_eq!(&view.units, &status.units.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(view.booked_at, millis(&status.booked_at));
        prop_assert_eq!(view.received_at, millis(&status.received_at));
        prop_assert_eq!(view.departed_at, millis(&status.departed_at));
        prop_assert_eq!(view.arrived_at, millis(&status.arrived_at));
        prop_assert_eq!(view.delivered_at, millis(&status.delivered_at));
        prop_assert_eq!(view.declared_at, millis(&status.declared_at));
        prop_assert_eq!(view.customs_status, status.customs_status);
        prop_assert_eq!(view.released_at, millis(&status.released_at));
        prop_assert_eq!(view.inspected, status.inspected);
        prop_assert_eq!(view.transport_stage, status.transport_stage);
        prop_assert_eq!(view.advance_declared, status.advance_declared);
        prop_assert_eq!(view.clearance_hours, status.clearance_hours);
        prop_assert_eq!(view.eta, millis(&status.eta));
        prop_assert_eq!(view.last_location, status.last_location.as_ref().map(|l| l.unlocode.as_str()));
        prop_assert_eq!(view.dwell_since, millis(&status.dwell_since));
        prop_assert_eq!(view.version, published.version);
        prop_assert_eq!(view.updated_at, millis(&published.updated_at));
        prop_assert_eq!(view.milestones.len(), status.milestones.len());
        for (seen, milestone) in view.milestones.iter().zip(&status.milestones) {
            prop_assert_eq!(seen.code, milestone.code);
            prop_assert_eq!(seen.event_time, milestone.event_time.unix_millis());
            prop_assert_eq!(seen.classifier, milestone.classifier);
            prop_assert_eq!(seen.location, milestone.location.as_ref().map(|l| l.unlocode.as_str()));
            prop_assert_eq!(seen.source, milestone.source.as_str());
            prop_assert_eq!(seen.event_id, milestone.event_id.as_str());
        }
    }

    /// The status encoder that writes from borrowed fields gives prost's bytes and digest for
    /// every record the decoder accepts.
    #[test]
    fn the_direct_encoding_is_prosts(record in status_record(), version in 1u64..1_000_000) {
        let Ok((status, _)) = Status::from_proto(record.clone()) else {
            return Ok(());
        };
        let at = Timestamp::from_parts(1_790_000_000, 5_000_000, 28_800).expect("a time");
        let (expected, digest) = status.record(version, &at);
        let encoded = status.as_ref().encoded();
        prop_assert_eq!(encoded.digest, digest);
        prop_assert_eq!(encoded.payload(version, &at), expected.encode_to_vec());
        prop_assert_eq!(status.as_ref().to_owned(), status);
    }

    /// Any bytes: an error or a view, never a panic.
    #[test]
    fn the_view_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = StatusView::read(&bytes);
    }
}
