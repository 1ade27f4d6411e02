//! Client settings.
//!
//! The consumer timeouts are short because tansu's group coordinator holds a JoinGroup until the
//! rebalance timeout: with Kafka's defaults the first assignment takes minutes (DESIGN.md).

use rdkafka::config::ClientConfig;

/// Settings shared by every client.
pub fn base(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "kouan")
        // tansu listens on IPv4 only; never let "localhost" resolve to ::1 first.
        .set("broker.address.family", "v4")
        .set("log_level", "4");
    config
}

/// A throughput-oriented producer: batches of up to 10k records, 5 ms linger, all in-sync
/// replicas acknowledge. Records are retried by librdkafka for up to `message.timeout.ms`.
pub fn producer(brokers: &str) -> ClientConfig {
    let mut config = base(brokers);
    config
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "262144")
        .set("message.timeout.ms", "120000");
    config
}

/// A group consumer that commits only what the caller says is done (no auto-commit, no
/// auto-store), starts from the beginning of a partition it has no offset for, and has
/// timeouts that let tansu assign partitions in seconds.
pub fn consumer(brokers: &str, group: &str) -> ClientConfig {
    let mut config = base(brokers);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "1500")
        .set("max.poll.interval.ms", "10000")
        .set("fetch.wait.max.ms", "10")
        .set("enable.partition.eof", "false");
    config
}
