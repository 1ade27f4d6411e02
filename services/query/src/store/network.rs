//! The dashboard's network view over the store.

use super::Store;
use crate::auth::Caller;
use std::collections::BTreeMap;

/// Behind the wall clock by more than this, the pipeline is catching up (a live pipeline trails
/// by its latency, seconds).
pub const CATCHING_UP_MILLIS: i64 = 5 * 60_000;

impl Store {
    /// Where the caller's active shipments are now (the dashboard's network view): per node the
    /// shipments waiting there with their current dwell, and the shipments moving between
    /// nodes by mode, by the model's [`Status::waiting`](kouan_model::Status::waiting) and
    /// [`Status::is_moving`](kouan_model::Status::is_moving). Finished shipments are left out.
    /// Dwell hours are measured at the pipeline's now, which `pipeline` reports with how far it
    /// is behind the wall clock (the dashboard's "catching up" banner).
    pub fn network(&self, caller: &Caller) -> serde_json::Value {
        let now_millis = self.now_millis();
        let behind_millis = self.behind_millis();
        let state = self.state.read();
        let mut nodes: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut moving: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut stages: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (_, record) in state.shipments.values() {
            if !caller.sees(record.shipper.as_deref()) {
                continue;
            }
            let status = &record.status;
            *stages.entry(status.transport_stage.code()).or_default() += 1;
            if status.is_moving() {
                let mode = record.mode().map_or("UNKNOWN", |m| m.code());
                *moving.entry(mode).or_default() += 1;
            } else if let Some((node, _)) = status.waiting() {
                nodes
                    .entry(node)
                    .or_default()
                    .push(status.dwell_hours(now_millis).unwrap_or(0.0));
            }
        }
        let firing = state
            .alerts
            .values()
            .filter(|a| a.is_firing() && state.alert_visible(caller, a))
            .count();
        let nodes: Vec<serde_json::Value> = nodes
            .into_iter()
            .map(|(location, mut dwell)| {
                dwell.sort_by(f64::total_cmp);
                serde_json::json!({
                    "location": location,
                    "shipments": dwell.len(),
                    "p50DwellHours": dwell[dwell.len() / 2],
                    "maxDwellHours": dwell[dwell.len() - 1],
                })
            })
            .collect();
        serde_json::json!({
            "nodes": nodes,
            "moving": moving,
            "stages": stages,
            "firingAlerts": firing,
            "pipeline": {
                "now": kouan_model::Timestamp::from_unix_millis(now_millis)
                    .map(|t| t.to_string()),
                "behindHours": kouan_model::status::hours_between(now_millis, now_millis + behind_millis),
                "catchingUp": behind_millis >= CATCHING_UP_MILLIS,
            },
        })
    }
}
