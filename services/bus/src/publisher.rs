//! A producer that never drops a record.
//!
//! When librdkafka's local queue is full, [`Publisher::send`] waits for room (backpressure) rather
//! than failing; delivery failures after librdkafka's own retries are counted and reported by
//! [`Publisher::flush`], so a caller knows whether everything it sent arrived.

use crate::error::BusError;
use crate::timing;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long to wait before retrying when librdkafka's queue is full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_micros(500);

/// Counts deliveries as librdkafka reports them, and wakes whoever waits for them to settle.
#[derive(Default)]
pub struct DeliveryTracker {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_failure: Mutex<Option<String>>,
    /// Taken around each report's wake-up so that a waiter cannot miss it between its check
    /// and its wait.
    reported: Mutex<()>,
    report: Condvar,
}

impl DeliveryTracker {
    fn reports(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    fn wake(&self) {
        drop(self.reported.lock().expect("lock is never poisoned"));
        self.report.notify_all();
    }
}

impl ClientContext for DeliveryTracker {}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_failure.lock().expect("lock is never poisoned");
                if first.is_none() {
                    use rdkafka::Message;
                    *first = Some(format!(
                        "{} on {}: {error}",
                        "delivery failed",
                        message.topic()
                    ));
                }
                tracing::warn!(topic = rdkafka::Message::topic(message), %error, "delivery failed");
            }
        }
        self.wake();
    }
}

/// What happened to the records sent so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub failed: u64,
}

pub struct Publisher {
    /// Shared with the watchdog thread of [`Publisher::commit`], which may outlive the publisher.
    producer: Arc<ThreadedProducer<DeliveryTracker>>,
    sent: AtomicU64,
}

/// One record for an explicit partition (see [`Publisher::send_placed`]).
pub struct Placed<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub key: &'a [u8],
    /// `None` writes a tombstone.
    pub payload: Option<&'a [u8]>,
    /// Unix milliseconds; `None` lets the producer stamp it.
    pub timestamp: Option<i64>,
    pub headers: Option<OwnedHeaders>,
}

/// The record when the queue was full: give it back to be retried.
enum Attempt<'a> {
    Queued,
    Full(BaseRecord<'a, [u8], [u8]>),
}

impl Publisher {
    pub fn new(brokers: &str) -> Result<Self, BusError> {
        Self::from_config(crate::config::producer(brokers))
    }

    pub fn from_config(config: rdkafka::ClientConfig) -> Result<Self, BusError> {
        let producer = config.create_with_context(DeliveryTracker::default())?;
        Ok(Publisher {
            producer: Arc::new(producer),
            sent: AtomicU64::new(0),
        })
    }

    fn attempt<'a>(&self, record: BaseRecord<'a, [u8], [u8]>) -> Result<Attempt<'a>, BusError> {
        match self.producer.send(record) {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
                Ok(Attempt::Queued)
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record)) => {
                Ok(Attempt::Full(record))
            }
            Err((error, _)) => Err(error.into()),
        }
    }

    fn record<'a>(
        topic: &'a str,
        key: Option<&'a [u8]>,
        payload: &'a [u8],
        headers: Option<OwnedHeaders>,
    ) -> BaseRecord<'a, [u8], [u8]> {
        let mut record = BaseRecord::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        record
    }

    /// Queues a record, blocking the thread while librdkafka's queue is full.
    pub fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<(), BusError> {
        self.send_blocking(Self::record(topic, key, payload, headers))
    }

    /// Queues a record for one partition, unkeyed (tests and tools that must place records).
    pub fn send_to_partition(
        &self,
        topic: &str,
        partition: i32,
        payload: &[u8],
    ) -> Result<(), BusError> {
        self.send_blocking(BaseRecord::to(topic).payload(payload).partition(partition))
    }

    /// Queues a record for an explicit partition, with an optional value (none is a tombstone)
    /// and the timestamp of the record it derives from: how the processor writes its changelogs.
    pub fn send_placed(&self, placed: Placed<'_>) -> Result<(), BusError> {
        let mut record = BaseRecord::to(placed.topic)
            .key(placed.key)
            .partition(placed.partition);
        if let Some(payload) = placed.payload {
            record = record.payload(payload);
        }
        if let Some(timestamp) = placed.timestamp {
            record = record.timestamp(timestamp);
        }
        if let Some(headers) = placed.headers {
            record = record.headers(headers);
        }
        self.send_blocking(record)
    }

    /// A transactional publisher (exactly-once with the consumer offsets it commits): its
    /// `transactional_id` must stay unique per live instance; a second producer with the same id
    /// fences the first. A record not delivered within the transaction timeout fails the commit,
    /// so nothing undelivered is ever taken as published.
    pub fn transactional(brokers: &str, transactional_id: &str) -> Result<Self, BusError> {
        let mut config = crate::config::producer(brokers);
        config
            .set("transactional.id", transactional_id)
            .set(
                "transaction.timeout.ms",
                timing::TRANSACTION_TIMEOUT.as_millis().to_string(),
            )
            .set("message.timeout.ms", "10000")
            // a transaction begun right after the last commit often finds the coordinator
            // still writing that commit's markers, and its AddOffsetsToTxn is refused with
            // CONCURRENT_TRANSACTIONS: librdkafka retries it after `retry.backoff.ms` (100 ms
            // by default) — its AddPartitionsToTxn it retries after 20 ms whatever this says —
            // and every status change of that cycle waits for it (how often: benchmarks.md).
            // Backoffs still double on every retry of one request, up to
            // `retry.backoff.max.ms` (1 s).
            .set("retry.backoff.ms", "10");
        let publisher = Self::from_config(config)?;
        publisher.producer.init_transactions(timing::TRANSACTION)?;
        Ok(publisher)
    }

    pub fn begin(&self) -> Result<(), BusError> {
        Ok(self.producer.begin_transaction()?)
    }

    /// Commits the open transaction together with `offsets` for `group`: the records sent in it
    /// and the input positions become visible at once, or neither does. Fails for a member fenced
    /// out of its group (a zombie), which must then abort and start over.
    pub fn commit(
        &self,
        offsets: &rdkafka::TopicPartitionList,
        group: rdkafka::consumer::ConsumerGroupMetadata,
    ) -> Result<(), BusError> {
        if offsets.count() > 0 {
            self.send_offsets_watched(offsets, group)?;
        }
        self.commit_records()
    }

    /// `send_offsets_to_transaction`, given up on when librdkafka overstays its own timeout.
    ///
    /// librdkafka 2.12 can block in it for ever when the group coordinator went away during
    /// the call: its coordinator-request timeout is never checked (confluentinc/librdkafka
    /// #5456), and a broker that restarts and briefly leaves the metadata is decommissioned
    /// while still cached as the coordinator, so nothing wakes the request (#5511). Seen here:
    /// the router stuck for good after a broker restart. The call runs on a thread of its own;
    /// past the deadline the caller gets [`BusError::Stuck`] and starts over with a new producer
    /// of the same transactional id, which fences this one and aborts its transaction. The
    /// stuck thread keeps this producer alive until librdkafka lets go of it.
    fn send_offsets_watched(
        &self,
        offsets: &rdkafka::TopicPartitionList,
        group: rdkafka::consumer::ConsumerGroupMetadata,
    ) -> Result<(), BusError> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        let producer = Arc::clone(&self.producer);
        let offsets = offsets.clone();
        std::thread::Builder::new()
            .name("send offsets".into())
            .spawn(move || {
                let result =
                    producer.send_offsets_to_transaction(&offsets, &group, timing::OFFSETS);
                // the waiter may have given up and gone: nobody to tell
                let _ = answer.send(result);
            })
            .map_err(|error| BusError::Stuck(format!("no thread to send offsets on: {error}")))?;
        // librdkafka caps the call's timeout at the transaction timeout, and the broker aborts
        // the transaction by then anyway
        let deadline = timing::OFFSETS.min(timing::TRANSACTION_TIMEOUT) + timing::OVERSTAY;
        match answered.recv_timeout(deadline) {
            Ok(result) => Ok(result?),
            Err(_) => {
                tracing::warn!(
                    seconds = deadline.as_secs(),
                    "sending offsets to the transaction overstayed its timeout; abandoning this producer"
                );
                Err(BusError::Stuck(format!(
                    "sending offsets to the transaction took over {deadline:?}"
                )))
            }
        }
    }

    /// Commits the open transaction on its own: for writers that keep their input positions in
    /// records of the transaction rather than in a consumer group.
    pub fn commit_records(&self) -> Result<(), BusError> {
        // rust-rdkafka's `commit_transaction` flushes first, polling in steps of up to 100 ms
        // for an event this producer's own polling thread takes first, so a commit with a
        // record still in flight waited up to 100 ms. Waiting for the reports here leaves that
        // flush nothing to wait for most of the time — but a report is counted in its callback,
        // before librdkafka lets go of its message, and a flush that still saw the message
        // waited the whole step. librdkafka's own commit flushes too, polling in steps of 10 ms
        // beside the polling thread, so it is called directly (the figures: benchmarks.md).
        self.settle(timing::TRANSACTION)?;
        let timeout_ms = timing::TRANSACTION.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: the handle is this producer's, alive while `self.producer` is; the returned
        // error object is read and destroyed exactly once, in `transaction_result`.
        let error = unsafe {
            rdkafka::bindings::rd_kafka_commit_transaction(
                self.producer.client().native_ptr(),
                timeout_ms,
            )
        };
        unsafe { transaction_result(error) }
    }

    /// Waits until every record queued so far is reported delivered or failed, woken by each
    /// report (rust-rdkafka's own flush sleeps in 100 ms steps beside a polling thread).
    fn settle(&self, timeout: Duration) -> Result<(), BusError> {
        let deadline = Instant::now() + timeout;
        let tracker = self.producer.context();
        let mut guard = tracker.reported.lock().expect("lock is never poisoned");
        while tracker.reports() < self.sent.load(Ordering::Relaxed) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut).into());
            }
            guard = tracker
                .report
                .wait_timeout(guard, left)
                .expect("lock is never poisoned")
                .0;
        }
        Ok(())
    }

    /// Aborts the open transaction: nothing sent in it becomes visible to read_committed readers.
    pub fn abort(&self) -> Result<(), BusError> {
        Ok(self.producer.abort_transaction(timing::ABORT)?)
    }

    /// Queues a tombstone (a key with no value): on a compacted topic it deletes the key.
    pub fn send_tombstone(&self, topic: &str, key: &[u8]) -> Result<(), BusError> {
        self.send_blocking(BaseRecord::to(topic).key(key))
    }

    /// The backpressure loop: retries a record while the queue is full, never dropping it.
    fn send_blocking(&self, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<(), BusError> {
        loop {
            match self.attempt(record)? {
                Attempt::Queued => return Ok(()),
                Attempt::Full(back) => {
                    record = back;
                    std::thread::sleep(QUEUE_FULL_BACKOFF);
                }
            }
        }
    }

    /// Waits until every queued record is delivered or has failed, and says which.
    pub fn flush(&self, timeout: Duration) -> Result<DeliveryReport, BusError> {
        self.settle(timeout)?;
        let tracker = self.producer.context();
        let report = DeliveryReport {
            delivered: tracker.delivered.load(Ordering::Relaxed),
            failed: tracker.failed.load(Ordering::Relaxed),
        };
        if report.failed > 0 {
            let first = tracker
                .first_failure
                .lock()
                .expect("lock is never poisoned")
                .clone()
                .unwrap_or_default();
            return Err(BusError::Delivery {
                failed: report.failed,
                total: self.sent.load(Ordering::Relaxed),
                first,
            });
        }
        Ok(report)
    }

    /// Records queued so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// A transactional call's result from librdkafka's error object (null: success), which it
/// destroys: rust-rdkafka's own conversion is private to it.
///
/// # Safety
/// `error` is null or an error object librdkafka returned and nothing else holds.
unsafe fn transaction_result(
    error: *mut rdkafka::bindings::rd_kafka_error_t,
) -> Result<(), BusError> {
    if error.is_null() {
        return Ok(());
    }
    use rdkafka::bindings as rd;
    // SAFETY: a live error object, destroyed once after these reads
    let (name, reason, fatal, abortable, retriable) = unsafe {
        let text = |pointer: *const std::ffi::c_char| {
            std::ffi::CStr::from_ptr(pointer)
                .to_string_lossy()
                .into_owned()
        };
        let read = (
            text(rd::rd_kafka_error_name(error)),
            text(rd::rd_kafka_error_string(error)),
            rd::rd_kafka_error_is_fatal(error) != 0,
            rd::rd_kafka_error_txn_requires_abort(error) != 0,
            rd::rd_kafka_error_is_retriable(error) != 0,
        );
        rd::rd_kafka_error_destroy(error);
        read
    };
    Err(BusError::Transaction {
        name,
        reason,
        fatal,
        abortable,
        retriable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_error_object_becomes_a_bus_error_naming_it() {
        assert!(unsafe { transaction_result(std::ptr::null_mut()) }.is_ok());
        let message = std::ffi::CString::new("the coordinator went away").unwrap();
        // SAFETY: librdkafka makes the object (its format is "%s"); `transaction_result` owns it
        let error = unsafe {
            rdkafka::bindings::rd_kafka_error_new(
                rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT,
                c"%s".as_ptr(),
                message.as_ptr(),
            )
        };
        match unsafe { transaction_result(error) } {
            Err(BusError::Transaction {
                name,
                reason,
                fatal,
                abortable,
                ..
            }) => {
                assert_eq!(name, "_TIMED_OUT");
                assert_eq!(reason, "the coordinator went away");
                assert!(!fatal && !abortable);
            }
            other => panic!("expected a transaction error, got {other:?}"),
        }
    }
}
