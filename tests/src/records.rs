//! Reading a topic back, and deleting the event topics' records as retention would.

use crate::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    }

    fn from_message(message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        Record {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
        }
    }
}

/// Reads every partition of `topic` from the beginning until `expected` records have arrived, the
/// reader has reached the partitions' ends, and nothing more came for `quiet` (so that records
/// still being written would be seen), or until `deadline`.
pub fn read_topic(
    brokers: &str,
    topic: &str,
    expected: usize,
    quiet: Duration,
    deadline: Duration,
) -> Vec<Record> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut follower = kouan_bus::Follower::from_beginning(
        brokers,
        &unique_namespace("reader"),
        &[topic.to_string()],
        &cancel,
    )
    .expect("reader");
    let started = Instant::now();
    let mut last_record = Instant::now();
    let mut records = Vec::new();
    while started.elapsed() < deadline {
        let polled = match follower.try_poll(kouan_bus::follower::POLL) {
            Ok(polled) => polled,
            // librdkafka reconnects by itself: on two cores busy with the broker and several
            // processors a fresh reader's connections can all drop for a moment (seen once in a
            // full run); the deadline still bounds the read
            Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure,
            )) => None,
            Err(error) => panic!("reading {topic}: {error}"),
        };
        if let Some(message) = polled {
            records.push(Record::from_message(&message));
            last_record = Instant::now();
        }
        let caught_up = follower.caught_up();
        if records.len() >= expected && last_record.elapsed() >= quiet && caught_up {
            break;
        }
    }
    records
}

/// Deletes every record of the five event topics published so far, as retention would.
pub fn delete_all_events(brokers: &str, topics: &kouan_bus::Topics) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        kouan_bus::config::base(brokers).create().unwrap();
    let consumer: BaseConsumer = kouan_bus::config::consumer(brokers, &unique_namespace("admin"))
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    for kind in kouan_model::BodyKind::ALL {
        let topic = topics.events(kind);
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        for partition in 0..metadata.topics()[0].partitions().len() as i32 {
            let (_, high) = consumer
                .fetch_watermarks(&topic, partition, Duration::from_secs(10))
                .unwrap();
            offsets
                .add_partition_offset(&topic, partition, Offset::Offset(high))
                .unwrap();
        }
    }
    let deleted =
        futures::executor::block_on(admin.delete_records(&offsets, &AdminOptions::new())).unwrap();
    for element in deleted.elements() {
        assert!(element.error().is_ok(), "{element:?}");
    }
}

/// Every valid event on the five event topics of `topics`.
pub fn read_events(brokers: &str, topics: &kouan_bus::Topics) -> Vec<kouan_model::Event> {
    let mut events = Vec::new();
    for kind in kouan_model::BodyKind::ALL {
        for record in read_topic(
            brokers,
            &topics.events(kind),
            0,
            Duration::from_millis(800),
            Duration::from_secs(60),
        ) {
            if let Ok(event) = kouan_model::protobuf::decode_event(&record.payload) {
                events.push(event);
            }
        }
    }
    events
}
