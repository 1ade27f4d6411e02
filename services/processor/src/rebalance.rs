//! What the consumer group decided, as the runner hears of it: librdkafka calls the context
//! inside `poll`; the runner acts on the queued decisions right after (restore what it gained,
//! release what it lost), between two transactions.

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;
use std::sync::Mutex;

/// One decision of the group coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Assigned(Vec<(String, i32)>),
    Revoked(Vec<(String, i32)>),
}

/// Collects assignment changes (cooperative: only the partitions that move).
#[derive(Default)]
pub struct Rebalances {
    changes: Mutex<Vec<Change>>,
}

impl Rebalances {
    /// The changes since the last call, oldest first.
    pub fn take(&self) -> Vec<Change> {
        std::mem::take(&mut *self.changes.lock().expect("never poisoned"))
    }
}

impl ClientContext for Rebalances {
    /// The by-shipment member asks for end-of-partition signals (`crate::progress`); librdkafka
    /// also reports them here, where the default would log each as an error.
    fn error(&self, error: KafkaError, reason: &str) {
        if !kouan_bus::reader::is_end_of_partition(&error) {
            tracing::error!(%error, reason, "librdkafka");
        }
    }
}

impl ConsumerContext for Rebalances {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let partitions = |list: &rdkafka::TopicPartitionList| -> Vec<(String, i32)> {
            list.elements()
                .iter()
                .map(|element| (element.topic().to_string(), element.partition()))
                .collect()
        };
        let change = match rebalance {
            Rebalance::Assign(list) => Change::Assigned(partitions(list)),
            Rebalance::Revoke(list) => Change::Revoked(partitions(list)),
            Rebalance::Error(error) => {
                tracing::warn!(%error, "rebalance failed");
                return;
            }
        };
        tracing::info!(?change, "group assignment changed");
        self.changes.lock().expect("never poisoned").push(change);
    }
}
