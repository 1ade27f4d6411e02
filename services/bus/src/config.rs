//! Client settings, named once for every client kouan makes.

use rdkafka::config::ClientConfig;

/// Settings shared by every client.
pub fn base(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "kouan")
        // brokers bound to 127.0.0.1 only: never let "localhost" resolve to ::1 first
        .set("broker.address.family", "v4")
        .set("log_level", "4");
    // librdkafka's own debug contexts (`eos`, `protocol`, `consumer`, …; comma-separated) for
    // every client, logged under the `librdkafka` target at debug level
    // (`RUST_LOG=info,librdkafka=debug`); how the transactions' retries in `crate::publisher`
    // were found
    if let Ok(debug) = std::env::var("KOUAN_RDKAFKA_DEBUG") {
        config.set("debug", debug).set("log_level", "7");
    }
    config
}

/// A throughput-oriented, idempotent producer: batches of up to 10k records, 5 ms linger, all
/// in-sync replicas acknowledge, retries never duplicate or reorder a record. Records are retried
/// by librdkafka for up to `message.timeout.ms`. Keyed records go where the Java clients would put
/// them (murmur2).
pub fn producer(brokers: &str) -> ClientConfig {
    let mut config = base(brokers);
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "262144")
        .set("message.timeout.ms", "120000");
    config
}

/// A group consumer that commits only what the caller says is done (no auto-commit, no
/// auto-store) and starts from the beginning of a partition it has no offset for. The session
/// timeout is the broker's minimum (6 s), so a member killed with SIGKILL (or paused) loses its
/// partitions to the others within seconds; a member blocked longer than `max.poll.interval.ms`
/// without polling leaves the group by itself.
pub fn consumer(brokers: &str, group: &str) -> ClientConfig {
    let mut config = base(brokers);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", session_timeout_ms().to_string())
        .set(
            "heartbeat.interval.ms",
            (session_timeout_ms() / 4).to_string(),
        )
        .set("max.poll.interval.ms", max_poll_interval_ms().to_string())
        .set("fetch.wait.max.ms", "10")
        .set("enable.partition.eof", "false");
    config
}

/// `session.timeout.ms` of every group member: 6 s, or `KOUAN_SESSION_TIMEOUT_MS` (at least the
/// broker's `group.min.session.timeout.ms`, 6 s by default).
pub fn session_timeout_ms() -> u64 {
    env_millis("KOUAN_SESSION_TIMEOUT_MS").unwrap_or(6_000)
}

/// `max.poll.interval.ms` of every group member: 60 s, or `KOUAN_MAX_POLL_INTERVAL_MS` (at least
/// the session timeout).
pub fn max_poll_interval_ms() -> u64 {
    env_millis("KOUAN_MAX_POLL_INTERVAL_MS")
        .unwrap_or(60_000)
        .max(session_timeout_ms())
}

fn env_millis(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// A member of a consumer group whose work moves between members: cooperative rebalancing
/// (only the partitions that move are revoked, the others keep flowing), and only committed
/// transactional records are read.
pub fn group_member(brokers: &str, group: &str) -> ClientConfig {
    let mut config = consumer(brokers, group);
    config
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("isolation.level", "read_committed");
    config
}
