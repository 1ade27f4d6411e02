//! Topic names and creation.
//!
//! API.md names the topics `kouan.events.shipment`, `kouan.status`, …; the `kouan` prefix is a
//! namespace (default `kouan`) so that several independent pipelines — or tests — can share a
//! cluster without seeing each other's records.

use crate::error::BusError;
use kouan_model::BodyKind;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use std::time::Duration;

pub const DEFAULT_NAMESPACE: &str = "kouan";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    namespace: String,
}

/// One topic to create, with the settings it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub compacted: bool,
}

impl Default for Topics {
    fn default() -> Self {
        Topics::new(DEFAULT_NAMESPACE)
    }
}

impl Topics {
    pub fn new(namespace: impl Into<String>) -> Self {
        Topics {
            namespace: namespace.into(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `kouan.events.<kind>`: one topic per body kind.
    pub fn events(&self, kind: BodyKind) -> String {
        format!("{}.events.{}", self.namespace, kind.name())
    }

    /// `kouan.status`: the latest status per shipment (compacted).
    pub fn status(&self) -> String {
        format!("{}.status", self.namespace)
    }

    pub fn alerts(&self) -> String {
        format!("{}.alerts", self.namespace)
    }

    pub fn deadletter(&self) -> String {
        format!("{}.deadletter", self.namespace)
    }

    /// `kouan.internal.<name>`: repartitioning and changelog topics of the processor.
    pub fn internal(&self, name: &str) -> String {
        format!("{}.internal.{}", self.namespace, name)
    }

    /// Which body kind an event topic carries.
    pub fn kind_of(&self, topic: &str) -> Option<BodyKind> {
        BodyKind::ALL
            .into_iter()
            .find(|kind| self.events(*kind) == topic)
    }

    /// Every public topic of API.md with its settings.
    pub fn public_specs(&self) -> Vec<TopicSpec> {
        let mut specs: Vec<TopicSpec> = BodyKind::ALL
            .into_iter()
            .map(|kind| TopicSpec {
                name: self.events(kind),
                compacted: false,
            })
            .collect();
        specs.push(TopicSpec {
            name: self.status(),
            compacted: true,
        });
        specs.push(TopicSpec {
            name: self.alerts(),
            compacted: false,
        });
        specs.push(TopicSpec {
            name: self.deadletter(),
            compacted: false,
        });
        specs
    }
}

/// Creates the topics; a topic that already exists is left as it is (idempotent).
pub async fn create_topics(
    brokers: &str,
    specs: &[TopicSpec],
    partitions: i32,
    replication: i32,
) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = crate::config::base(brokers).create()?;
    let new_topics: Vec<NewTopic> = specs
        .iter()
        .map(|spec| {
            let topic = NewTopic::new(&spec.name, partitions, TopicReplication::Fixed(replication));
            if spec.compacted {
                topic.set("cleanup.policy", "compact")
            } else {
                topic
            }
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(&new_topics, &options).await?;
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        let topics = Topics::default();
        assert_eq!(topics.events(BodyKind::Equipment), "kouan.events.equipment");
        assert_eq!(topics.status(), "kouan.status");
        assert_eq!(topics.deadletter(), "kouan.deadletter");
        assert_eq!(topics.internal("by-shipment"), "kouan.internal.by-shipment");
        assert_eq!(topics.kind_of("kouan.events.air"), Some(BodyKind::Air));
        assert_eq!(topics.kind_of("kouan.status"), None);
        let specs = topics.public_specs();
        assert_eq!(specs.len(), 8);
        assert!(specs
            .iter()
            .any(|s| s.name == "kouan.status" && s.compacted));
    }
}
