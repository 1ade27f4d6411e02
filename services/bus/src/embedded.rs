//! The embedded broker of `kouan up`: librdkafka's mock cluster, speaking the Kafka protocol on a
//! loopback port inside this process, so the whole rdkafka code path runs.
//!
//! It is a first-look default, never a store of record: it keeps only a few MB per partition and
//! nothing survives the process (DESIGN.md). The mock cluster is `!Send`, so it lives on a thread
//! of its own; dropping [`EmbeddedBroker`] stops it.

use crate::error::BusError;
use crate::topics::TopicSpec;
use rdkafka::mocking::MockCluster;
use std::sync::mpsc;
use std::thread::JoinHandle;

pub struct EmbeddedBroker {
    bootstrap_servers: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedBroker {
    /// Starts a one-broker mock cluster and creates `topics` with `partitions` each (the mock
    /// broker has no CreateTopics API, so topics are made through the mock cluster itself).
    pub fn start(topics: &[TopicSpec], partitions: i32) -> Result<Self, BusError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let names: Vec<String> = topics.iter().map(|spec| spec.name.clone()).collect();
        let thread = std::thread::Builder::new()
            .name("kouan-embedded-broker".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(cluster) => cluster,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error.to_string()));
                        return;
                    }
                };
                for name in &names {
                    if let Err(error) = cluster.create_topic(name, partitions, 1) {
                        let _ = ready_tx.send(Err(format!("create {name}: {error}")));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                // Park until asked to stop (or until the owner is gone).
                let _ = stop_rx.recv();
                drop(cluster);
            })
            .map_err(|error| BusError::Embedded(error.to_string()))?;
        let bootstrap_servers = ready_rx
            .recv()
            .map_err(|_| BusError::Embedded("broker thread ended before it was ready".into()))?
            .map_err(BusError::Embedded)?;
        Ok(EmbeddedBroker {
            bootstrap_servers,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The `host:port` list clients connect to.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
