//! Unit-level Kafka test on the embedded broker: what the publisher sends, with backpressure on a
//! deliberately tiny queue, all arrives.

use kouan_bus::topics::TopicSpec;
use kouan_bus::{EmbeddedBroker, Publisher};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

#[test]
fn publisher_waits_when_the_queue_is_full_and_loses_nothing() {
    let spec = TopicSpec {
        name: "unit.backpressure".into(),
        cleanup: kouan_bus::topics::Cleanup::Compact,
    };
    let broker = EmbeddedBroker::start(&[spec], 2).expect("embedded broker");
    let mut config = kouan_bus::config::producer(broker.bootstrap_servers());
    // A queue of 50 records: sending 5,000 must hit QueueFull many times.
    config.set("queue.buffering.max.messages", "50");
    let publisher = Publisher::from_config(config).unwrap();
    let total = 5_000u32;
    for index in 0..total {
        let key = format!("k{}", index % 17);
        publisher
            .send(
                "unit.backpressure",
                Some(key.as_bytes()),
                &index.to_be_bytes(),
                None,
            )
            .unwrap();
    }
    let report = publisher.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(report.delivered, u64::from(total));
    assert_eq!(report.failed, 0);

    let consumer: BaseConsumer =
        kouan_bus::config::consumer(broker.bootstrap_servers(), "unit-reader")
            .create()
            .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..2 {
        assignment
            .add_partition_offset("unit.backpressure", partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut seen = vec![false; total as usize];
    let started = Instant::now();
    let mut count = 0;
    while count < total && started.elapsed() < Duration::from_secs(30) {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.unwrap();
            let value = u32::from_be_bytes(message.payload().unwrap().try_into().unwrap());
            assert!(!seen[value as usize], "record {value} twice");
            seen[value as usize] = true;
            count += 1;
        }
    }
    assert_eq!(count, total);
}
