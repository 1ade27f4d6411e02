//! Unit-level Kafka test on librdkafka's mock cluster: a transaction's commit comes back within
//! a bounded time even when the group coordinator goes away during it. librdkafka 2.12 blocks in
//! `send_offsets_to_transaction` for ever then (confluentinc/librdkafka #5456); the publisher
//! must give up on it so that the caller can start over with a new producer.

use kouan_bus::{BusError, Publisher};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::{MockCluster, MockCoordinator};
use rdkafka::TopicPartitionList;
use std::time::Duration;

#[test]
fn a_commit_returns_when_the_group_coordinator_is_gone() {
    let cluster = MockCluster::new(3).expect("mock cluster");
    let brokers = cluster.bootstrap_servers();
    cluster.create_topic("unit.stuck", 1, 3).unwrap();
    cluster
        .coordinator(MockCoordinator::Transaction("unit-stuck-txn".into()), 1)
        .unwrap();
    cluster
        .coordinator(MockCoordinator::Group("unit-stuck-group".into()), 2)
        .unwrap();

    let publisher = Publisher::transactional(&brokers, "unit-stuck-txn").unwrap();
    let consumer: BaseConsumer = kouan_bus::config::consumer(&brokers, "unit-stuck-group")
        .create()
        .unwrap();
    let group = consumer
        .group_metadata()
        .expect("a consumer with a group id");
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset("unit.stuck", 0, rdkafka::Offset::Offset(1))
        .unwrap();

    publisher.begin().unwrap();
    publisher
        .send("unit.stuck", Some(b"k"), b"v", None)
        .unwrap();
    cluster.broker_down(2).unwrap();

    let (answer, answered) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = publisher.commit(&offsets, group);
        let _ = answer.send(result);
        // the abandoned producer may still be held by librdkafka's stuck call
        std::mem::forget(publisher);
    });
    let bound = kouan_bus::timing::TRANSACTION_TIMEOUT + kouan_bus::timing::OVERSTAY;
    let result = answered
        .recv_timeout(bound + Duration::from_secs(10))
        .expect("the commit did not come back");
    let error = result.expect_err("no offsets can be committed without the group coordinator");
    // given up on (librdkafka hangs), or a timeout of librdkafka's own once it is fixed
    assert!(
        matches!(error, BusError::Stuck(_) | BusError::Kafka(_)),
        "{error}"
    );
}
