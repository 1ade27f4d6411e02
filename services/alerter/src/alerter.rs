//! The alert lifecycle over status records: what each shipment is doing (from its latest
//! record), which conditions hold at a given time, and the FIRING / RESOLVED updates that follow.
//! Time is passed in, so the same code runs on wall-clock timers and in replayed tests.

use crate::baseline::{BaselineKey, Baselines};
use crate::rules::Rules;
use kouan_model::{Alert, Status};
use kouan_model::{AlertKind, AlertState, CustomsState, Direction, ShipmentMode, TransportStage};
use std::collections::{BTreeMap, HashMap, HashSet};

const HOUR_MS: f64 = 3_600_000.0;

/// What the alerter keeps of a shipment's latest record.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub shipper: Option<String>,
    pub mode: String,
    pub stage: TransportStage,
    /// Where it is and since when, unless it has left (its last movement is a departure).
    pub dwelling: Option<(String, i64)>,
    /// The last departure seen, to close a dwell.
    pub departed: Option<(String, i64)>,
    pub finished: bool,
    /// When it was delivered: the end of its last dwell.
    pub delivered_at: Option<i64>,
    pub air_import_arrival: Option<(String, i64)>,
    pub notified: bool,
    pub import_arrival: Option<(String, i64)>,
    pub released: bool,
    pub customs: CustomsState,
    /// Where customs acts: the port of entry for imports, else the origin.
    pub customs_node: String,
    /// When the latest SUSPENDED or REJECTED came.
    pub customs_since: Option<i64>,
}

impl Watched {
    pub fn from_status(status: &Status) -> Self {
        let ms = |t: &Option<kouan_model::Timestamp>| t.map(|t| t.unix_millis());
        let dwelling = status
            .waiting()
            .map(|(node, since)| (node.to_string(), since.unix_millis()));
        let departed = status
            .last_movement()
            .filter(|_| status.is_moving())
            .and_then(|m| {
                Some((
                    m.location.as_ref()?.unlocode.clone(),
                    m.event_time.unix_millis(),
                ))
            });
        let import = status.direction == Some(Direction::Import);
        let arrival = match (import, &status.port_of_entry, ms(&status.arrived_at)) {
            (true, Some(port), Some(at)) => Some((port.clone(), at)),
            _ => None,
        };
        let customs_since = status
            .milestones
            .iter()
            .rev()
            .find(|m| matches!(m.code, "SUSPENDED" | "REJECTED"))
            .map(|m| m.event_time.unix_millis());
        Watched {
            shipper: status.shipper.clone(),
            mode: status.mode.map_or("UNKNOWN", |m| m.code()).to_string(),
            stage: status.transport_stage,
            dwelling,
            departed,
            finished: status.is_finished(),
            delivered_at: ms(&status.delivered_at),
            air_import_arrival: arrival
                .clone()
                .filter(|_| status.mode == Some(ShipmentMode::Air)),
            notified: status
                .milestones
                .iter()
                .any(|m| matches!(m.code, "NFD" | "DLV")),
            import_arrival: arrival,
            // a two-step declaration shows DECLARED again after its release (the complete
            // declaration): released is released
            released: status.customs_status == CustomsState::Released
                || status
                    .milestones
                    .iter()
                    .any(|m| matches!(m.code, "RELEASED" | "CLOSED")),
            customs: status.customs_status,
            customs_node: status.customs_node().unwrap_or_default().to_string(),
            customs_since,
        }
    }
}

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    kind: AlertKind,
    node: String,
    stage: String,
    observed_hours: f64,
    threshold_hours: f64,
    baseline: String,
    since: i64,
}

pub struct Alerter {
    rules: Rules,
    baselines: Baselines,
    watched: HashMap<String, Watched>,
    /// FIRING alerts by (shipment, node, kind).
    open: BTreeMap<(String, String, AlertKind), Alert>,
}

impl Alerter {
    pub fn new(rules: Rules) -> Self {
        let baselines = Baselines::new(rules.baseline_window, rules.baseline_min_samples);
        Alerter {
            rules,
            baselines,
            watched: HashMap::new(),
            open: BTreeMap::new(),
        }
    }

    /// Takes over alerts that are already FIRING on the topic (after a restart), so that they
    /// are updated or resolved rather than raised again.
    pub fn adopt(&mut self, alert: Alert) {
        let key = (alert.shipment_id.clone(), alert.node.clone(), alert.kind);
        if alert.state == AlertState::Firing {
            self.open.insert(key, alert);
        } else {
            self.open.remove(&key);
        }
    }

    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.open.values()
    }

    /// A new record of a shipment: learns completed dwells, then re-evaluates it at `now`.
    pub fn observe(&mut self, status: &Status, now: i64) -> Vec<Alert> {
        self.remember(status);
        self.evaluate(&status.shipment_id, now)
    }

    /// Takes a record without evaluating it: the replay of `kouan.status` at start-up, whose
    /// intermediate records must teach the baselines but not raise alerts that are long over.
    pub fn remember(&mut self, status: &Status) {
        let next = Watched::from_status(status);
        if let Some(previous) = self.watched.get(&status.shipment_id) {
            if let Some((node, since)) = &previous.dwelling {
                // the dwell ended: the shipment left (a departure there) or showed up elsewhere
                let ended = match (&next.departed, &next.dwelling) {
                    (Some((from, at)), _) if from == node => Some(*at),
                    (_, Some((elsewhere, at))) if elsewhere != node => Some(*at),
                    _ if !previous.finished => next.delivered_at,
                    _ => None,
                };
                if let Some(ended) = ended {
                    let key: BaselineKey = (
                        node.clone(),
                        previous.mode.clone(),
                        previous.stage.code().to_string(),
                    );
                    self.baselines.observe(key, *since, ended);
                }
            }
        }
        self.watched.insert(status.shipment_id.clone(), next);
    }

    /// The timer: re-evaluates every shipment still under way at `now`.
    pub fn tick(&mut self, now: i64) -> Vec<Alert> {
        let with_open_alerts: HashSet<&String> = self.open.keys().map(|(id, _, _)| id).collect();
        let due: Vec<String> = self
            .watched
            .iter()
            .filter(|(id, watched)| !watched.finished || with_open_alerts.contains(id))
            .map(|(id, _)| id.clone())
            .collect();
        let updates: Vec<Alert> = due
            .into_iter()
            .flat_map(|id| self.evaluate(&id, now))
            .collect();
        // a finished shipment with nothing open has nothing more to say: let it go
        let with_open_alerts: HashSet<String> =
            self.open.keys().map(|(id, _, _)| id.clone()).collect();
        self.watched
            .retain(|id, watched| !watched.finished || with_open_alerts.contains(id));
        updates
    }

    fn conditions(&self, watched: &Watched, now: i64) -> Vec<Condition> {
        let hours = |since: i64| (now - since) as f64 / HOUR_MS;
        let mut holding = Vec::new();
        if let (Some((node, since)), false) = (&watched.dwelling, watched.finished) {
            let key: BaselineKey = (
                node.clone(),
                watched.mode.clone(),
                watched.stage.code().to_string(),
            );
            let (threshold, baseline) = match self.baselines.learned(&key) {
                Some(learned) => (
                    learned.threshold_hours(self.rules.dwell_z),
                    learned.describe(),
                ),
                None => (self.rules.cold_start_dwell_hours, "cold start".to_string()),
            };
            let (threshold, baseline) = match self.rules.node_sla_hours.get(node) {
                Some(sla) if *sla < threshold => (*sla, format!("sla {sla}h at {node}")),
                _ => (threshold, baseline),
            };
            if hours(*since) > threshold {
                holding.push(Condition {
                    kind: AlertKind::Dwell,
                    node: node.clone(),
                    stage: watched.stage.code().to_string(),
                    observed_hours: hours(*since),
                    threshold_hours: threshold,
                    baseline,
                    since: *since,
                });
            }
        }
        if let (Some((node, arrived)), false) = (
            &watched.air_import_arrival,
            watched.notified || watched.finished,
        ) {
            let sla = self.rules.air_nfd_within_hours;
            if hours(*arrived) > sla {
                holding.push(Condition {
                    kind: AlertKind::MissingMilestone,
                    node: node.clone(),
                    stage: "NFD".into(),
                    observed_hours: hours(*arrived),
                    threshold_hours: sla,
                    baseline: format!("sla NFD within {sla}h of arrival"),
                    since: *arrived,
                });
            }
        }
        if let (Some((node, arrived)), false) = (&watched.import_arrival, watched.released) {
            let sla = self.rules.import_release_within_hours;
            if hours(*arrived) > sla {
                holding.push(Condition {
                    kind: AlertKind::MissingMilestone,
                    node: node.clone(),
                    stage: "RELEASED".into(),
                    observed_hours: hours(*arrived),
                    threshold_hours: sla,
                    baseline: format!("sla release within {sla}h of arrival"),
                    since: *arrived,
                });
            }
        }
        let customs = match watched.customs {
            CustomsState::Held => Some(AlertKind::CustomsHold),
            CustomsState::Rejected => Some(AlertKind::CustomsRejected),
            _ => None,
        };
        if let (Some(kind), Some(since)) = (customs, watched.customs_since) {
            holding.push(Condition {
                kind,
                node: watched.customs_node.clone(),
                stage: "CUSTOMS".into(),
                observed_hours: hours(since).max(0.0),
                threshold_hours: 0.0,
                baseline: "rule".into(),
                since,
            });
        }
        holding
    }

    fn evaluate(&mut self, shipment_id: &str, now: i64) -> Vec<Alert> {
        let Some(watched) = self.watched.get(shipment_id) else {
            return Vec::new();
        };
        let conditions = self.conditions(watched, now);
        let shipper = watched.shipper.clone();
        let mut updates = Vec::new();
        // resolve what no longer holds
        let open_here: Vec<(String, String, AlertKind)> = self
            .open
            .keys()
            .filter(|(id, _, _)| id == shipment_id)
            .cloned()
            .collect();
        for key in open_here {
            if conditions
                .iter()
                .any(|c| c.node == key.1 && c.kind == key.2)
            {
                continue;
            }
            let mut alert = self.open.remove(&key).expect("listed");
            alert.state = AlertState::Resolved;
            alert.updated_at_millis = now;
            alert.resolved_at_millis = Some(now);
            alert.message = format!("{} resolved", alert.message);
            updates.push(alert);
        }
        // raise or update what holds
        for condition in conditions {
            let key = (
                shipment_id.to_string(),
                condition.node.clone(),
                condition.kind,
            );
            match self.open.get_mut(&key) {
                Some(alert) => {
                    if condition.observed_hours - alert.observed_hours
                        >= self.rules.update_every_hours
                    {
                        alert.observed_hours = condition.observed_hours;
                        alert.threshold_hours = condition.threshold_hours;
                        alert.baseline = condition.baseline;
                        alert.updated_at_millis = now;
                        updates.push(alert.clone());
                    }
                }
                None => {
                    let alert = Alert {
                        alert_id: alert_id(shipment_id, &condition.node, condition.kind),
                        shipment_id: shipment_id.to_string(),
                        shipper: shipper.clone(),
                        kind: condition.kind,
                        state: AlertState::Firing,
                        message: format!(
                            "{} {} at {} ({}): {:.1}h against {:.1}h",
                            shipment_id,
                            condition.kind.code().to_lowercase().replace('_', " "),
                            condition.node,
                            condition.stage,
                            condition.observed_hours,
                            condition.threshold_hours
                        ),
                        node: condition.node,
                        stage: condition.stage,
                        observed_hours: condition.observed_hours,
                        threshold_hours: condition.threshold_hours,
                        baseline: condition.baseline,
                        started_at_millis: condition.since,
                        updated_at_millis: now,
                        resolved_at_millis: None,
                    };
                    self.open.insert(key, alert.clone());
                    updates.push(alert);
                }
            }
        }
        updates
    }
}

/// `shipment/node/kind`: one alert per (shipment, node, kind), whatever happens to it.
pub fn alert_id(shipment_id: &str, node: &str, kind: AlertKind) -> String {
    format!("{shipment_id}/{node}/{}", kind.code())
}
