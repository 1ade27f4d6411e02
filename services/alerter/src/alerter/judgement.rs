//! What a rule says of an episode: the hours past which it is an anomaly and why (a node's
//! learned baseline as it stood when the dwell began, a cold start, a node's SLA, a fixed rule),
//! and the FIRING alert it raises.

use super::*;

/// What a rule says of an episode: the hours beyond which it is an anomaly, and why.
pub(super) struct Judgement {
    pub(super) threshold_hours: f64,
    pub(super) baseline: String,
}

impl Alerter {
    pub(super) fn judge(&self, watched: &Watched, episode: &Episode) -> Judgement {
        let fixed = |hours: f64, why: String| Judgement {
            threshold_hours: hours,
            baseline: why,
        };
        match (episode.kind, episode.stage.as_str()) {
            (AlertKind::Dwell, stage) => {
                let key: BaselineKey = (
                    episode.node.clone(),
                    watched.mode.clone(),
                    stage.to_string(),
                );
                // judged as live would judge it, when it passes its threshold: against the
                // dwells that had ended by then (whatever order the records come in), the moment
                // taken from the baseline when it began
                let when_it_began = self.baselines.learned_before(&key, episode.since);
                let threshold = when_it_began.map_or(self.rules.cold_start_dwell_hours, |l| {
                    l.threshold_hours(self.rules.dwell_z)
                });
                let passes = episode.since.saturating_add((threshold * HOUR_MS) as i64);
                let learned = if self.baselines.ended_between(&key, episode.since, passes) == 0 {
                    when_it_began
                } else {
                    self.baselines.learned_before(&key, passes)
                };
                let judgement = match learned {
                    Some(learned) => fixed(
                        learned.threshold_hours(self.rules.dwell_z),
                        learned.describe(),
                    ),
                    None => fixed(self.rules.cold_start_dwell_hours, "cold start".to_string()),
                };
                match self.rules.node_sla_hours.get(&episode.node) {
                    Some(sla) if *sla < judgement.threshold_hours => {
                        fixed(*sla, format!("sla {sla}h at {}", episode.node))
                    }
                    _ => judgement,
                }
            }
            (AlertKind::MissingMilestone, "NFD") => {
                let sla = self.rules.air_nfd_within_hours;
                fixed(sla, format!("sla NFD within {sla}h of arrival"))
            }
            (AlertKind::MissingMilestone, _) => {
                let sla = self.rules.import_release_within_hours;
                fixed(sla, format!("sla release within {sla}h of arrival"))
            }
            // a hold or a rejection is an alert at once
            (AlertKind::CustomsHold | AlertKind::CustomsRejected, _) => fixed(0.0, "rule".into()),
        }
    }
}

/// A new FIRING alert for an episode.
pub(super) fn raised(
    shipment_id: &str,
    shipper: &Option<String>,
    episode: &Episode,
    judgement: Judgement,
    observed_hours: f64,
    now: i64,
) -> Alert {
    Alert {
        alert_id: alert_id(shipment_id, &episode.node, episode.kind),
        shipment_id: shipment_id.to_string(),
        shipper: shipper.clone(),
        kind: episode.kind,
        state: AlertState::Firing,
        message: format!(
            "{} {} at {} ({}): {:.1}h against {:.1}h",
            shipment_id,
            episode.kind.code().to_lowercase().replace('_', " "),
            episode.node,
            episode.stage,
            observed_hours,
            judgement.threshold_hours
        ),
        node: episode.node.clone(),
        stage: episode.stage.clone(),
        observed_hours,
        threshold_hours: judgement.threshold_hours,
        baseline: judgement.baseline,
        started_at_millis: episode.since,
        updated_at_millis: now,
        resolved_at_millis: None,
    }
}
