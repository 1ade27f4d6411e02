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
    pub cleanup: Cleanup,
}

/// How Kafka lets go of a topic's records; always set explicitly, never left to the broker's
/// defaults (which differ between clusters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// The latest record per key is kept for ever; tombstones remove a key.
    Compact,
    /// Records are deleted once older than this.
    Delete(Duration),
}

/// How long event and dead-letter records are kept unless `kouan topics create` is told otherwise:
/// long enough to replay a week, and nothing downstream needs them longer (the processor keeps
/// its state in compacted internal topics).
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The internal topics: names and why each exists.
pub mod internal {
    /// Direct events (shipment, air, customs) repartitioned by shipmentId, compacted by event
    /// identity: the processor's per-shipment state of record, co-partitioned with `status`.
    pub const BY_SHIPMENT: &str = "by-shipment";
    /// Equipment and transport events compacted by event identity, plus each live shipment's
    /// links (its booked units and flights): the table every processor instance holds whole.
    pub const SHARED: &str = "shared";
    /// Webhook subscriptions and delivery positions of the query service.
    pub const SUBSCRIPTIONS: &str = "subscriptions";
    /// The alerter's state (shipments under watch, baselines, its positions in `status`).
    pub const ALERTER: &str = "alerter";
    /// Each DCSA poller's cursor in its carrier's event stream, written in the transaction of
    /// the events it read.
    pub const PULL: &str = "pull";
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

    /// `kouan.internal.by-shipment` (see [`internal::BY_SHIPMENT`]).
    pub fn by_shipment(&self) -> String {
        self.internal(internal::BY_SHIPMENT)
    }

    /// `kouan.internal.shared` (see [`internal::SHARED`]).
    pub fn shared(&self) -> String {
        self.internal(internal::SHARED)
    }

    /// `kouan.internal.subscriptions` (see [`internal::SUBSCRIPTIONS`]).
    pub fn subscriptions(&self) -> String {
        self.internal(internal::SUBSCRIPTIONS)
    }

    /// `kouan.internal.pull` (see [`internal::PULL`]).
    pub fn pull(&self) -> String {
        self.internal(internal::PULL)
    }

    /// `kouan.internal.alerter` (see [`internal::ALERTER`]).
    pub fn alerter(&self) -> String {
        self.internal(internal::ALERTER)
    }

    /// Every public topic of API.md with its settings; events and dead letters kept for
    /// `event_retention`.
    pub fn public_specs(&self, event_retention: Duration) -> Vec<TopicSpec> {
        let mut specs: Vec<TopicSpec> = BodyKind::ALL
            .into_iter()
            .map(|kind| TopicSpec {
                name: self.events(kind),
                cleanup: Cleanup::Delete(event_retention),
            })
            .collect();
        specs.push(TopicSpec {
            name: self.status(),
            cleanup: Cleanup::Compact,
        });
        specs.push(TopicSpec {
            name: self.alerts(),
            cleanup: Cleanup::Compact,
        });
        specs.push(TopicSpec {
            name: self.deadletter(),
            cleanup: Cleanup::Delete(event_retention),
        });
        specs
    }

    /// The processor's internal topics, all compacted. `by-shipment` must have as many
    /// partitions as `status` (they are co-partitioned by shipmentId).
    pub fn processor_specs(&self) -> Vec<TopicSpec> {
        vec![
            TopicSpec {
                name: self.by_shipment(),
                cleanup: Cleanup::Compact,
            },
            TopicSpec {
                name: self.shared(),
                cleanup: Cleanup::Compact,
            },
        ]
    }

    /// Every topic of the pipeline: public, the processor's, the alerter's and the query
    /// service's.
    pub fn all_specs(&self, event_retention: Duration) -> Vec<TopicSpec> {
        let mut specs = self.public_specs(event_retention);
        specs.extend(self.processor_specs());
        specs.push(TopicSpec {
            name: self.alerter(),
            cleanup: Cleanup::Compact,
        });
        specs.push(TopicSpec {
            name: self.subscriptions(),
            cleanup: Cleanup::Compact,
        });
        specs.push(TopicSpec {
            name: self.pull(),
            cleanup: Cleanup::Compact,
        });
        specs
    }
}

/// Partitions of the topics a service creates when they are missing (`kouan topics create` sets
/// its own).
pub const DEFAULT_PARTITIONS: i32 = 4;

/// Makes sure every topic of the pipeline exists, creating the missing ones with
/// [`DEFAULT_PARTITIONS`], replication factor 1 and [`DEFAULT_EVENT_RETENTION`]: what a service
/// started on a bare cluster does. Production clusters create them with `kouan topics create`.
pub async fn ensure_topics(brokers: &str, topics: &Topics) -> Result<(), BusError> {
    let specs = topics.all_specs(DEFAULT_EVENT_RETENTION);
    let names: Vec<String> = specs.iter().map(|spec| spec.name.clone()).collect();
    let brokers_owned = brokers.to_string();
    // every topic there already: no admin request (a cluster that answers metadata but not
    // admin requests, as `kouan up`'s embedded broker, is then usable as it is)
    let all_there = tokio::task::spawn_blocking(move || all_exist(&brokers_owned, &names))
        .await
        .unwrap_or(Ok(false))?;
    if all_there {
        return Ok(());
    }
    create_topics(
        brokers,
        &topics.all_specs(DEFAULT_EVENT_RETENTION),
        DEFAULT_PARTITIONS,
        1,
    )
    .await
}

/// Creates the topics; a topic that already exists is left as it is (idempotent).
pub async fn create_topics(
    brokers: &str,
    specs: &[TopicSpec],
    partitions: i32,
    replication: i32,
) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = crate::config::base(brokers).create()?;
    // compacted topics keep every key for ever; `-1` says so explicitly
    let retentions: Vec<String> = specs
        .iter()
        .map(|spec| match spec.cleanup {
            Cleanup::Compact => "-1".to_string(),
            Cleanup::Delete(retention) => retention.as_millis().to_string(),
        })
        .collect();
    let min_insync = if replication >= 3 { "2" } else { "1" };
    let new_topics: Vec<NewTopic> = specs
        .iter()
        .zip(&retentions)
        .map(|(spec, retention)| {
            let policy = match spec.cleanup {
                Cleanup::Compact => "compact",
                Cleanup::Delete(_) => "delete",
            };
            NewTopic::new(&spec.name, partitions, TopicReplication::Fixed(replication))
                .set("cleanup.policy", policy)
                .set("retention.ms", retention)
                .set("min.insync.replicas", min_insync)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(crate::timing::ADMIN));
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

/// A topic's setting `name` as the broker applies it (its own or the broker's default), or
/// `None` when the broker does not say.
pub async fn setting(brokers: &str, topic: &str, name: &str) -> Result<Option<String>, BusError> {
    Ok(settings(brokers, &[topic.to_string()], name)
        .await?
        .pop()
        .flatten())
}

/// [`setting`] of several topics in one request, in their order.
pub async fn settings(
    brokers: &str,
    topics: &[String],
    name: &str,
) -> Result<Vec<Option<String>>, BusError> {
    use rdkafka::admin::ResourceSpecifier;
    let admin: AdminClient<DefaultClientContext> = crate::config::base(brokers).create()?;
    let options = AdminOptions::new().request_timeout(Some(crate::timing::ADMIN));
    let resources: Vec<ResourceSpecifier<'_>> =
        topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let described = admin.describe_configs(&resources, &options).await?;
    Ok(described
        .into_iter()
        .map(|resource| {
            resource
                .ok()
                .and_then(|resource| resource.get(name).and_then(|entry| entry.value.clone()))
        })
        .collect())
}

/// Whether every one of `names` is in the cluster's metadata now.
fn all_exist(brokers: &str, names: &[String]) -> Result<bool, BusError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = crate::config::base(brokers).create()?;
    let metadata = consumer.fetch_metadata(None, crate::timing::METADATA)?;
    let present: std::collections::HashSet<&str> = metadata
        .topics()
        .iter()
        .filter(|topic| topic.error().is_none() && !topic.partitions().is_empty())
        .map(|topic| topic.name())
        .collect();
    Ok(names.iter().all(|name| present.contains(name.as_str())))
}

/// Partitions of an existing topic and its replication factor, or `None` when it does not exist
/// (after 10 s: a topic created a moment ago may not be in the broker's metadata yet).
pub fn describe(brokers: &str, topic: &str) -> Result<Option<(i32, i32)>, BusError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = crate::config::base(brokers).create()?;
    let deadline = std::time::Instant::now() + crate::timing::METADATA;
    loop {
        let metadata = consumer.fetch_metadata(Some(topic), crate::timing::METADATA)?;
        if let Some(found) = metadata
            .topics()
            .first()
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        {
            let replication = found.partitions()[0].replicas().len() as i32;
            return Ok(Some((found.partitions().len() as i32, replication)));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(crate::timing::METADATA_RETRY);
    }
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
        let specs = topics.all_specs(DEFAULT_EVENT_RETENTION);
        assert_eq!(specs.len(), 13);
        assert_eq!(topics.pull(), "kouan.internal.pull");
        assert!(specs
            .iter()
            .any(|s| s.name == "kouan.status" && s.cleanup == Cleanup::Compact));
        assert!(specs.iter().any(|s| s.name == "kouan.events.air"
            && s.cleanup == Cleanup::Delete(DEFAULT_EVENT_RETENTION)));
        assert!(specs
            .iter()
            .filter(|s| s.name.contains(".internal."))
            .all(|s| s.cleanup == Cleanup::Compact));
    }
}
