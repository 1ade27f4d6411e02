//! Which instances of a processor group are alive, and so which buckets each owns.
//!
//! Every instance writes a heartbeat (its id and wall-clock time) to `kouan.internal.members`
//! once a second and reads everyone's. The live members of a group are those heard from within
//! [`MEMBER_TIMEOUT`]; sorted by id, member *i* of *n* owns the buckets *b* with *b mod n = i*.
//! Every instance computes the same split from the same heartbeats.
//!
//! Why not the consumer group's partition assignment: on tansu (the test broker) a member killed
//! with SIGKILL keeps its partitions — the coordinator rebalanced once after the kill and gave the
//! survivor only its old half, measured here — so the dead member's shipments would never be
//! published again. Heartbeats make the hand-over independent of the broker's group coordinator.
//! During a hand-over two members may briefly both publish a bucket (the same records, harmless:
//! every record is recomputed from the events) or neither (the gainer recomputes the whole bucket
//! when it takes it).

use kouan_bus::{BusError, Publisher};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
pub const MEMBER_TIMEOUT: Duration = Duration::from_secs(6);

pub struct Membership {
    me: String,
    group: String,
    topic: String,
    reader: BaseConsumer,
    last_heartbeat: Option<Instant>,
    /// Latest heartbeat time (Unix ms) of every member of the group heard from.
    heard: HashMap<String, i64>,
}

impl Membership {
    pub fn join(
        brokers: &str,
        topic: &str,
        group: &str,
        me: String,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let reader: BaseConsumer =
            kouan_bus::config::consumer(brokers, &format!("{me}-members")).create()?;
        let mut assignment = TopicPartitionList::new();
        // recent heartbeats are all that matter
        assignment.add_partition_offset(topic, 0, Offset::OffsetTail(2_000))?;
        reader.assign(&assignment)?;
        Ok(Membership {
            me,
            group: group.to_string(),
            topic: topic.to_string(),
            reader,
            last_heartbeat: None,
            heard: HashMap::new(),
        })
    }

    /// Beats when due, reads what arrived, and returns the buckets this instance owns now.
    pub fn tick(&mut self, publisher: &Publisher, buckets: i32) -> Result<BTreeSet<i32>, BusError> {
        let now_ms = unix_millis();
        if self
            .last_heartbeat
            .is_none_or(|last| last.elapsed() >= HEARTBEAT_INTERVAL)
        {
            let beat = format!("{}\n{}\n{now_ms}", self.group, self.me);
            publisher.send_to_partition(&self.topic, 0, beat.as_bytes())?;
            self.last_heartbeat = Some(Instant::now());
        }
        while let Some(Ok(message)) = self.reader.poll(Duration::ZERO) {
            let Some(payload) = message.payload().and_then(|p| std::str::from_utf8(p).ok()) else {
                continue;
            };
            let mut parts = payload.split('\n');
            let (Some(group), Some(member), Some(at)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if group != self.group {
                continue;
            }
            let Ok(at) = at.parse::<i64>() else { continue };
            let latest = self.heard.entry(member.to_string()).or_insert(at);
            *latest = (*latest).max(at);
        }
        let timeout = MEMBER_TIMEOUT.as_millis() as i64;
        self.heard.retain(|_, at| now_ms - *at < timeout);
        // until it hears its own heartbeat back, an instance does not know the others either
        let live: Vec<&String> = {
            let mut live: Vec<&String> = self.heard.keys().collect();
            live.sort();
            live
        };
        let Some(index) = live.iter().position(|member| **member == self.me) else {
            return Ok(BTreeSet::new());
        };
        Ok((0..buckets)
            .filter(|bucket| (*bucket as usize) % live.len() == index)
            .collect())
    }

    /// This instance's member id.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Live members, for logs.
    pub fn members(&self) -> usize {
        self.heard.len()
    }
}

fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
