//! Alerts in their protobuf form on `kouan.alerts`, both ways.

use crate::alerter::Alert;
use kouan_model::protobuf::time_to_proto;
use kouan_model::{pb, AlertKind, AlertState, Timestamp};

fn time(millis: i64) -> pb::Time {
    time_to_proto(
        &Timestamp::from_parts(
            millis.div_euclid(1000),
            (millis.rem_euclid(1000) * 1_000_000) as u32,
            0,
        )
        .expect("alert times are in range"),
    )
}

fn millis(time: &Option<pb::Time>) -> Option<i64> {
    time.as_ref()
        .map(|t| t.unix_seconds * 1000 + i64::from(t.nanos / 1_000_000))
}

pub fn to_proto(alert: &Alert) -> pb::Alert {
    pb::Alert {
        alert_id: alert.alert_id.clone(),
        shipment_id: alert.shipment_id.clone(),
        shipper: alert.shipper.clone(),
        kind: alert.kind.to_proto(),
        state: alert.state.to_proto(),
        node: alert.node.clone(),
        stage: alert.stage.clone(),
        observed_hours: alert.observed_hours,
        threshold_hours: alert.threshold_hours,
        baseline: alert.baseline.clone(),
        started_at: Some(time(alert.started_at_millis)),
        updated_at: Some(time(alert.updated_at_millis)),
        resolved_at: alert.resolved_at_millis.map(time),
        message: alert.message.clone(),
    }
}

/// `None` for a record this version cannot read (unknown kind or state).
pub fn from_proto(record: pb::Alert) -> Option<Alert> {
    Some(Alert {
        kind: AlertKind::from_proto(record.kind)?,
        state: AlertState::from_proto(record.state)?,
        started_at_millis: millis(&record.started_at)?,
        updated_at_millis: millis(&record.updated_at)?,
        resolved_at_millis: millis(&record.resolved_at),
        alert_id: record.alert_id,
        shipment_id: record.shipment_id,
        shipper: record.shipper,
        node: record.node,
        stage: record.stage,
        observed_hours: record.observed_hours,
        threshold_hours: record.threshold_hours,
        baseline: record.baseline,
        message: record.message,
    })
}
