//! The notifications a ONE Record subscription is sent for a batch of changes: a
//! `LOGISTICS_EVENT_RECEIVED` per event new to it on the logistics objects it follows, and a
//! `LOGISTICS_OBJECT_UPDATED` per change when it asked for them.

use super::super::OneRecordTopic;
use crate::dcsa::Recent;
use crate::store::{ChangeKind, Item};
use kouan_standards::onerecord::published::{self, ObjectKind, API};
use serde_json::json;

/// Each notification's JSON, in order. An event is new to the subscription the first time its
/// deliverer sees it (so after a restart, the events of the next change of an object it follows
/// are sent again: at least once).
pub(super) fn notifications(
    items: &[Item],
    topic: &OneRecordTopic,
    subscription: &str,
    seen: &mut Recent<String>,
) -> Vec<String> {
    let wants =
        |kind: &str| topic.event_types.is_empty() || topic.event_types.iter().any(|t| t == kind);
    let mut out = Vec::new();
    for item in items {
        let ChangeKind::Status(record) = &item.kind else {
            continue;
        };
        let status = record.status();
        if !published::is_air(&status) {
            continue;
        }
        let followed: Vec<ObjectKind> = match topic.kind.as_str() {
            "object" => match published::parse_object_id(&topic.topic) {
                Some((kind, awb)) if awb == status.shipment_id => vec![kind],
                _ => continue,
            },
            _ => ObjectKind::ALL
                .into_iter()
                .filter(|k| k.name() == topic.topic)
                .collect(),
        };
        for kind in followed {
            let object = format!(
                "{}/logistics-objects/{}",
                topic.base,
                published::object_id(kind, &status.shipment_id)
            );
            let notification = |event_type: &str, event: Option<String>| {
                let mut value = json!({
                    "@context": {"api": API},
                    "@type": "api:Notification",
                    "api:hasEventType": {"@id": format!("api:{event_type}")},
                    "api:hasLogisticsObject": {"@id": object},
                    "api:hasLogisticsObjectType": {"@type": "http://www.w3.org/2001/XMLSchema#anyURI", "@value": kind.type_iri()},
                    "api:isTriggeredBy": {"@id": format!("{}/action-requests/{subscription}", topic.base)},
                });
                if let Some(event) = event {
                    value["api:hasLogisticsEvent"] = json!({"@id": event});
                }
                value.to_string()
            };
            if wants("LOGISTICS_OBJECT_UPDATED") {
                out.push(notification("LOGISTICS_OBJECT_UPDATED", None));
            }
            if wants("LOGISTICS_EVENT_RECEIVED") {
                for event in published::events(&status) {
                    let iri = event.iri(&object);
                    if seen.first(&format!("{iri}@{}", event.created.unix_millis())) {
                        out.push(notification("LOGISTICS_EVENT_RECEIVED", Some(iri)));
                    }
                }
            }
        }
    }
    out
}
