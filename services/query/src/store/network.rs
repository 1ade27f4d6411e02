//! The dashboard's network view over the store.

use super::Store;
use crate::api::answers::{NetworkAnswer, NodeDwell, PipelineClock};
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
    pub fn network(&self, caller: &Caller) -> String {
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
            *stages.entry(record.transport_stage().code()).or_default() += 1;
            if record.is_moving() {
                let mode = record.mode().map_or("UNKNOWN", |m| m.code());
                *moving.entry(mode).or_default() += 1;
            } else if let Some(node) = record.waiting_at() {
                nodes
                    .entry(node)
                    .or_default()
                    .push(record.dwell_hours(now_millis).unwrap_or(0.0));
            }
        }
        let firing = state
            .alerts
            .values()
            .filter(|a| a.is_firing() && state.alert_visible(caller, a))
            .count();
        let nodes: Vec<NodeDwell> = nodes
            .into_iter()
            .map(|(location, mut dwell)| {
                dwell.sort_by(f64::total_cmp);
                NodeDwell {
                    location,
                    shipments: dwell.len() as u64,
                    p50_dwell_hours: dwell[dwell.len() / 2],
                    max_dwell_hours: dwell[dwell.len() - 1],
                }
            })
            .collect();
        let answer = NetworkAnswer {
            nodes,
            moving,
            stages,
            firing_alerts: firing as u64,
            pipeline: PipelineClock {
                now: kouan_model::Timestamp::from_unix_millis(now_millis),
                behind_hours: kouan_model::status::hours_between(
                    now_millis,
                    now_millis + behind_millis,
                ),
                catching_up: behind_millis >= CATCHING_UP_MILLIS,
                dead_letters: caller.is_operator().then(|| self.dead_letters.counts()),
            },
        };
        serde_json::to_string(&answer).expect("the network view always serializes")
    }
}
