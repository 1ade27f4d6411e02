//! The published records' decoders never panic, whatever bytes a topic holds, and what they accept
//! round-trips: status records (with their JSON form) and alert records.

use kouan_model::{pb, Alert, AlertKind, AlertState, PublishedStatus, Status, Timestamp};
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
