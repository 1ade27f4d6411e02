//! The alert rules and their defaults, read from a JSON file (`kouan alert --rules FILE`);
//! every field is optional.

use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Rules {
    /// A dwell is anomalous when its log-hours' modified z-score exceeds this (dwell times are
    /// skewed, roughly log-normal, so baselines are kept on log-hours).
    pub dwell_z: f64,
    /// Completed dwells kept per (node, mode, stage).
    pub baseline_window: usize,
    /// Samples needed before a baseline is trusted.
    pub baseline_min_samples: usize,
    /// Dwell threshold while no baseline is trusted (cold start).
    pub cold_start_dwell_hours: f64,
    /// Per-node promises, UN/LOCODE → hours: a dwell there alerts beyond this whatever the
    /// baseline says (border transshipment, for instance).
    pub node_sla_hours: HashMap<String, f64>,
    /// Cargo iQ: notification (NFD) due within this many hours of an air import's arrival.
    pub air_nfd_within_hours: f64,
    /// Import customs release due within this many hours of arrival.
    pub import_release_within_hours: f64,
    /// A FIRING alert is re-published when its observed hours grew by this much.
    pub update_every_hours: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            dwell_z: 3.0,
            baseline_window: 500,
            baseline_min_samples: 30,
            cold_start_dwell_hours: 168.0,
            // gauge-change stations: border transshipment within 24 h
            node_sla_hours: ["KZDOS", "MNZMU", "RUZAB", "CNMZL"]
                .into_iter()
                .map(|node| (node.to_string(), 24.0))
                .collect(),
            air_nfd_within_hours: 6.0,
            import_release_within_hours: 96.0,
            update_every_hours: 6.0,
        }
    }
}

impl Rules {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
