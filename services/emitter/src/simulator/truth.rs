//! The ground truth of injected anomalies, so that alert quality can be measured.

use kouan_model::{AlertKind, Timestamp};

/// One injected anomaly: which shipment, at which node, what kind, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    pub shipment: String,
    /// UN/LOCODE of the node.
    pub node: String,
    pub kind: AlertKind,
    /// When the anomaly began: arrival at the node for a dwell, the suspension for a hold,
    /// the last milestone that did come for a missing one.
    pub start: Timestamp,
}

impl Anomaly {
    /// One JSON line: `{"shipment":…,"node":…,"kind":…,"start":…}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "shipment": self.shipment,
            "node": self.node,
            "kind": self.kind.code(),
            "start": self.start.to_rfc3339(),
        })
        .to_string()
    }
}
