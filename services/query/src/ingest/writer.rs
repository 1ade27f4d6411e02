//! The intake's Kafka side: every taken event to its event topic (keyed by its body's natural
//! id, as `kouan ingest` writes it) and every rejection to the dead-letter topic, then waiting
//! for the broker to acknowledge each record of this request — the answer says `taken` only for
//! what the broker holds.

use kouan_bus::headers::rejection_headers;
use kouan_bus::{BusError, Topics};
use kouan_model::protobuf;
use kouan_standards::MessageOutcome;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// A request waits this long for the broker before it is answered 503 (and may be sent again:
/// the same events are the same versions, which the processor takes once).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Writer {
    producer: FutureProducer,
    topics: Topics,
}

impl Writer {
    pub fn new(brokers: &str, topics: Topics) -> Result<Self, BusError> {
        let mut config = kouan_bus::config::producer(brokers);
        config.set(
            "message.timeout.ms",
            DELIVERY_TIMEOUT.as_millis().to_string(),
        );
        Ok(Writer {
            producer: config.create()?,
            topics,
        })
    }

    /// Writes every item of every outcome; `origin` names the request in the dead letters.
    pub async fn write(&self, outcomes: &[MessageOutcome], origin: &str) -> Result<(), BusError> {
        let mut deliveries = Vec::new();
        let deadletter = self.topics.deadletter();
        for outcome in outcomes {
            for item in &outcome.items {
                let delivery = match item {
                    Ok(event) => {
                        let topic = self.topics.events(event.kind());
                        let payload = protobuf::encode_event(event);
                        let key = event.body.natural_key();
                        self.queue(FutureRecord::to(&topic).key(key).payload(&payload))
                            .await?
                    }
                    Err(reject) => {
                        let reason = reject.to_string();
                        let headers =
                            rejection_headers(&reason, &format!("{origin}: {}", outcome.reference));
                        self.queue(
                            FutureRecord::<(), [u8]>::to(&deadletter)
                                .payload(&outcome.raw)
                                .headers(headers),
                        )
                        .await?
                    }
                };
                deliveries.push(delivery);
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(BusError::Kafka(error)),
                Err(_) => {
                    return Err(BusError::Kafka(KafkaError::Canceled));
                }
            }
        }
        Ok(())
    }

    /// Queues one record, waiting while the producer's queue is full.
    async fn queue<K, P>(
        &self,
        mut record: FutureRecord<'_, K, P>,
    ) -> Result<rdkafka::producer::DeliveryFuture, BusError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((error, _)) => return Err(BusError::Kafka(error)),
            }
        }
    }
}
