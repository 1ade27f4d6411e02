//! The lifecycle on hand-made records: a silent shipment alerts on the timer alone, a normal one
//! never does, alerts are updated rather than repeated, resolved when the cause goes, and adopted
//! after a restart without being raised again.

use kouan_alerter::{Alert, Alerter, Rules};
use kouan_model::*;
use kouan_model::{Milestone, Status};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const T0: i64 = 1_763_568_000_000;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_parts(millis.div_euclid(1000), 0, 3600).unwrap()
}

fn milestone(code: &'static str, millis: i64, node: &str) -> Milestone {
    Milestone::actual_at(code, at(millis), node, "test", format!("{code}-{millis}"))
}

/// A westbound rail shipment that reached Małaszewicze at T0.
fn at_malaszewicze(milestones: Vec<Milestone>, customs: CustomsState) -> Status {
    let last = milestones
        .iter()
        .rev()
        .find(|m| m.location.is_some())
        .unwrap();
    Status {
        document_type: Some(DocumentType::RailWaybill),
        shipper: Some("henan-elec".into()),
        mode: Some(ShipmentMode::Rail),
        direction: Some(Direction::Export),
        origin: Some("CNZZP".into()),
        destination: Some("DEHAM".into()),
        port_of_entry: Some("DEHAM".into()),
        departed_at: Some(at(T0 - 10 * DAY)),
        customs_status: customs,
        transport_stage: TransportStage::InTransit,
        last_location: last.location.clone(),
        dwell_since: Some(
            milestones
                .iter()
                .find(|m| m.location == last.location)
                .unwrap()
                .event_time,
        ),
        milestones,
        ..Status::empty("ZZHH0000000001")
    }
}

fn arrived() -> Vec<Milestone> {
    vec![
        milestone("ARRIVED", T0, "PLMAW"),
        milestone("DISC", T0 + HOUR, "PLMAW"),
    ]
}

#[test]
fn a_silent_shipment_alerts_on_the_timer_and_resolves_when_it_moves() {
    let mut alerter = Alerter::new(Rules::default());
    assert!(alerter
        .observe(
            &at_malaszewicze(arrived(), CustomsState::Released),
            T0 + 2 * HOUR
        )
        .is_empty());
    assert!(
        alerter.tick(T0 + 3 * DAY).is_empty(),
        "three days at Małaszewicze is normal"
    );
    // no event arrives; only the clock moves
    let fired = alerter.tick(T0 + 8 * DAY);
    assert_eq!(fired.len(), 1, "{fired:?}");
    let alert: &Alert = &fired[0];
    assert_eq!(
        (alert.kind, alert.state, alert.node.as_str()),
        (AlertKind::Dwell, AlertState::Firing, "PLMAW")
    );
    assert_eq!(alert.alert_id, "ZZHH0000000001/PLMAW/DWELL");
    assert_eq!(alert.threshold_hours, 168.0);
    assert_eq!(alert.baseline, "cold start");
    assert!((alert.observed_hours - 192.0).abs() < 1e-9);
    assert!(
        alerter.tick(T0 + 8 * DAY + HOUR).is_empty(),
        "no repeat within the update interval"
    );
    let updated = alerter.tick(T0 + 9 * DAY);
    assert_eq!(updated.len(), 1);
    assert_eq!(
        (updated[0].alert_id.as_str(), updated[0].state),
        ("ZZHH0000000001/PLMAW/DWELL", AlertState::Firing)
    );
    assert!((updated[0].observed_hours - 216.0).abs() < 1e-9);

    let mut moved = arrived();
    moved.push(milestone("DEPARTED", T0 + 9 * DAY + 2 * HOUR, "PLMAW"));
    let resolved = alerter.observe(
        &at_malaszewicze(moved, CustomsState::Released),
        T0 + 9 * DAY + 3 * HOUR,
    );
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].state, AlertState::Resolved);
    assert_eq!(
        resolved[0].resolved_at_millis,
        Some(T0 + 9 * DAY + 3 * HOUR)
    );
    assert_eq!(alerter.firing().count(), 0);
}

#[test]
fn a_normal_shipment_raises_nothing() {
    let mut alerter = Alerter::new(Rules::default());
    let mut milestones = arrived();
    assert!(alerter
        .observe(
            &at_malaszewicze(milestones.clone(), CustomsState::Released),
            T0 + HOUR
        )
        .is_empty());
    for hours in (6..60).step_by(6) {
        assert!(alerter.tick(T0 + hours * HOUR).is_empty());
    }
    milestones.push(milestone("DEPARTED", T0 + 60 * HOUR, "PLMAW"));
    assert!(alerter
        .observe(
            &at_malaszewicze(milestones, CustomsState::Released),
            T0 + 61 * HOUR
        )
        .is_empty());
    assert!(
        alerter.tick(T0 + 30 * DAY).is_empty(),
        "on the move: no dwell"
    );
}

#[test]
fn customs_holds_alert_at_once_and_adopted_alerts_are_not_raised_again() {
    let mut alerter = Alerter::new(Rules::default());
    let mut milestones = arrived();
    milestones.push(milestone("SUSPENDED", T0 + 2 * HOUR, "CNZZP"));
    let held = at_malaszewicze(milestones.clone(), CustomsState::Held);
    let fired = alerter.observe(&held, T0 + 3 * HOUR);
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].kind, fired[0].node.as_str()),
        (AlertKind::CustomsHold, "CNZZP")
    );

    // a restarted alerter adopts what the topic says is FIRING and raises nothing new
    let mut restarted = Alerter::new(Rules::default());
    restarted.adopt(fired[0].clone());
    assert!(restarted.observe(&held, T0 + 4 * HOUR).is_empty());
    assert!(restarted.tick(T0 + 4 * HOUR).is_empty());

    milestones.push(milestone("RELEASED", T0 + 5 * HOUR, "CNZZP"));
    let released = restarted.observe(
        &at_malaszewicze(milestones, CustomsState::Released),
        T0 + 6 * HOUR,
    );
    assert_eq!(released.len(), 1);
    assert_eq!(
        (released[0].alert_id.as_str(), released[0].state),
        (fired[0].alert_id.as_str(), AlertState::Resolved)
    );
}

#[test]
fn a_dwell_seen_only_after_it_ended_is_raised_and_resolved_at_its_times() {
    // the first record comes after the shipment already left (a replay publishes one record per
    // batch of events): 200 hours at Małaszewicze, more than the cold-start 168
    let mut milestones = arrived();
    milestones.push(milestone("DEPARTED", T0 + 200 * HOUR, "PLMAW"));
    let mut left = at_malaszewicze(milestones.clone(), CustomsState::Released);
    left.dwell_since = None;
    let mut alerter = Alerter::new(Rules::default());
    let updates = alerter.observe(&left, T0 + 210 * HOUR);
    let states: Vec<(&str, AlertState, i64)> = updates
        .iter()
        .map(|a| (a.alert_id.as_str(), a.state, a.updated_at_millis))
        .collect();
    assert_eq!(
        states,
        vec![
            (
                "ZZHH0000000001/PLMAW/DWELL",
                AlertState::Firing,
                T0 + 168 * HOUR
            ),
            (
                "ZZHH0000000001/PLMAW/DWELL",
                AlertState::Resolved,
                T0 + 200 * HOUR
            ),
        ]
    );
    assert_eq!(updates[0].started_at_millis, T0);
    assert_eq!(updates[1].resolved_at_millis, Some(T0 + 200 * HOUR));
    assert_eq!(alerter.firing().count(), 0);
    // the same record again, or a later one repeating the history, raises nothing
    assert!(alerter.observe(&left, T0 + 211 * HOUR).is_empty());
    milestones.push(milestone("ARRIVED", T0 + 300 * HOUR, "DEDUI"));
    let mut further = at_malaszewicze(milestones, CustomsState::Released);
    further.dwell_since = Some(at(T0 + 300 * HOUR));
    assert!(alerter.observe(&further, T0 + 301 * HOUR).is_empty());

    // a restarted alerter that adopted the resolved alert does not raise it again either
    let mut restarted = Alerter::new(Rules::default());
    restarted.adopt(updates[1].clone());
    assert!(restarted.observe(&further, T0 + 302 * HOUR).is_empty());
}

#[test]
fn a_customs_hold_lifted_before_the_first_record_is_still_an_alert() {
    let mut milestones = arrived();
    milestones.push(milestone("SUSPENDED", T0 + 2 * HOUR, "CNZZP"));
    milestones.push(milestone("RELEASED", T0 + 7 * HOUR, "CNZZP"));
    let mut alerter = Alerter::new(Rules::default());
    let updates = alerter.observe(
        &at_malaszewicze(milestones, CustomsState::Released),
        T0 + 8 * HOUR,
    );
    let states: Vec<(AlertKind, AlertState, i64)> = updates
        .iter()
        .map(|a| (a.kind, a.state, a.updated_at_millis))
        .collect();
    assert_eq!(
        states,
        vec![
            (AlertKind::CustomsHold, AlertState::Firing, T0 + 2 * HOUR),
            (AlertKind::CustomsHold, AlertState::Resolved, T0 + 7 * HOUR),
        ]
    );
}

#[test]
fn a_deleted_shipment_resolves_its_alerts_and_is_let_go_of() {
    let mut alerter = Alerter::new(Rules::default());
    alerter.observe(
        &at_malaszewicze(arrived(), CustomsState::Released),
        T0 + 2 * HOUR,
    );
    assert_eq!(alerter.tick(T0 + 8 * DAY).len(), 1);
    let _ = alerter.take_dirty();
    let resolved = alerter.shipment_deleted("ZZHH0000000001", T0 + 8 * DAY + HOUR);
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].state, AlertState::Resolved);
    assert_eq!(alerter.firing().count(), 0);
    assert_eq!(alerter.watched_len(), 0);
    // its changelog record goes with it
    let (dirty, _) = alerter.take_dirty();
    assert_eq!(dirty, vec!["ZZHH0000000001".to_string()]);
    assert!(alerter.shipment_record("ZZHH0000000001").is_none());
    assert!(
        alerter.tick(T0 + 20 * DAY).is_empty(),
        "nothing left to judge"
    );
}

#[test]
fn a_record_that_knows_past_its_watermark_is_judged_as_of_it() {
    // a replay read the train's departure (T0 + 200 h) with the record, but the record carries
    // the watermark T0 + 50 h: the other events before the departure may not be read yet, so at
    // T0 + 50 h the dwell lasts, and nothing is raised or learned before the clock gets there
    let mut milestones = arrived();
    milestones.push(milestone("DEPARTED", T0 + 200 * HOUR, "PLMAW"));
    let mut left = at_malaszewicze(milestones.clone(), CustomsState::Released);
    left.dwell_since = None;
    let mut alerter = Alerter::new(Rules::default());
    assert!(alerter.observe(&left, T0 + 50 * HOUR).is_empty());
    // the next record shows it left after 100 h (a departure not read yet with the first)
    let mut milestones = arrived();
    milestones.push(milestone("DEPARTED", T0 + 100 * HOUR, "PLMAW"));
    let mut corrected = at_malaszewicze(milestones, CustomsState::Released);
    corrected.dwell_since = None;
    assert!(alerter.observe(&corrected, T0 + 120 * HOUR).is_empty());
    assert!(alerter.tick(T0 + 300 * HOUR).is_empty());

    // had nothing changed, the dwell is raised once the clock passes its threshold (cold start,
    // 168 h) and resolved at its end
    let mut alerter = Alerter::new(Rules::default());
    assert!(alerter.observe(&left, T0 + 50 * HOUR).is_empty());
    let raised = alerter.tick(T0 + 170 * HOUR);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].state, AlertState::Firing);
    let resolved = alerter.tick(T0 + 201 * HOUR);
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].state, AlertState::Resolved);
    assert_eq!(alerter.firing().count(), 0);
}
