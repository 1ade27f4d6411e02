//! Resume tokens: how far a reader has got in the topics the store follows, as the next offset
//! per partition. A token stays meaningful across store restarts because Kafka offsets do, so a
//! feed or a webhook can resume on another store instance.
//!
//! Text form: `s=12.0.55.3~a=1.0.0.4` — per topic (`s` status, `a` alerts) the next offsets of
//! partitions 0, 1, 2, … in order; a partition not listed has offset 0.

use crate::record::{Origin, TopicId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    status: Vec<i64>,
    alerts: Vec<i64>,
}

impl Position {
    /// A position from the next offsets of partitions 0, 1, … of each topic.
    pub fn from_offsets(status: Vec<i64>, alerts: Vec<i64>) -> Self {
        Position { status, alerts }
    }

    /// The next offsets of partitions 0, 1, … of `topic` (partitions not listed: 0).
    pub fn offsets(&self, topic: TopicId) -> &[i64] {
        match topic {
            TopicId::Status => &self.status,
            TopicId::Alerts => &self.alerts,
        }
    }

    /// Partitions named, per topic (status, alerts).
    pub fn partitions(&self) -> (usize, usize) {
        (self.status.len(), self.alerts.len())
    }

    /// The next offset to read of a partition.
    pub fn next(&self, topic: TopicId, partition: i32) -> i64 {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.offsets(topic).get(p).copied())
            .unwrap_or(0)
    }

    /// Whether a reader at this position has not seen the record at `origin` yet.
    pub fn unseen(&self, origin: &Origin) -> bool {
        origin.offset >= self.next(origin.topic, origin.partition)
    }

    /// Moves past `origin` (never backwards).
    pub fn advance(&mut self, origin: &Origin) {
        let Ok(partition) = usize::try_from(origin.partition) else {
            return;
        };
        let offsets = match origin.topic {
            TopicId::Status => &mut self.status,
            TopicId::Alerts => &mut self.alerts,
        };
        if offsets.len() <= partition {
            offsets.resize(partition + 1, 0);
        }
        offsets[partition] = offsets[partition].max(origin.offset + 1);
    }

    /// Component-wise maximum: everything either position has seen.
    pub fn join(&mut self, other: &Position) {
        fn max_into(into: &mut Vec<i64>, from: &[i64]) {
            if into.len() < from.len() {
                into.resize(from.len(), 0);
            }
            for (a, b) in into.iter_mut().zip(from) {
                *a = (*a).max(*b);
            }
        }
        max_into(&mut self.status, &other.status);
        max_into(&mut self.alerts, &other.alerts);
    }

    /// Joins `target` into every partition ordered before `origin`'s (topic, partition).
    pub fn join_before(&mut self, target: &Position, origin: &Origin) {
        let mut partial = target.clone();
        let cut = |offsets: &mut Vec<i64>, keep: usize| offsets.truncate(keep);
        let keep = usize::try_from(origin.partition).unwrap_or(0);
        match origin.topic {
            TopicId::Status => {
                cut(&mut partial.status, keep);
                partial.alerts.clear();
            }
            TopicId::Alerts => cut(&mut partial.alerts, keep),
        }
        self.join(&partial);
    }

    pub fn encode(&self) -> String {
        use std::fmt::Write as _;
        // one buffer: every feed event carries a token, so this runs per event per client
        let mut out = String::with_capacity(8 + 8 * (self.status.len() + self.alerts.len()));
        for (prefix, offsets) in [("s=", &self.status), ("~a=", &self.alerts)] {
            out.push_str(prefix);
            for (index, offset) in offsets.iter().enumerate() {
                if index > 0 {
                    out.push('.');
                }
                let _ = write!(out, "{offset}");
            }
        }
        out
    }

    /// Parses a token; `None` when it is not one of ours.
    pub fn decode(text: &str) -> Option<Self> {
        let (status, alerts) = text.trim().split_once('~')?;
        let parse = |part: &str, prefix: &str| -> Option<Vec<i64>> {
            let list = part.strip_prefix(prefix)?;
            if list.is_empty() {
                return Some(Vec::new());
            }
            let offsets = list
                .split('.')
                .map(|o| o.parse::<i64>().ok().filter(|o| *o >= 0))
                .collect::<Option<Vec<_>>>()?;
            // a partition count beyond any real topic is not a token of ours
            (offsets.len() <= 10_000).then_some(offsets)
        };
        Some(Self {
            status: parse(status, "s=")?,
            alerts: parse(alerts, "a=")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(topic: TopicId, partition: i32, offset: i64) -> Origin {
        Origin {
            topic,
            partition,
            offset,
        }
    }

    #[test]
    fn round_trips_and_orders() {
        let mut position = Position::default();
        assert_eq!(position.encode(), "s=~a=");
        position.advance(&at(TopicId::Status, 2, 9));
        position.advance(&at(TopicId::Status, 2, 3));
        position.advance(&at(TopicId::Alerts, 0, 0));
        assert_eq!(position.encode(), "s=0.0.10~a=1");
        assert_eq!(Position::decode(&position.encode()), Some(position.clone()));
        assert!(!position.unseen(&at(TopicId::Status, 2, 9)));
        assert!(position.unseen(&at(TopicId::Status, 2, 10)));
        assert!(position.unseen(&at(TopicId::Status, 7, 0)));
        assert!(!position.unseen(&at(TopicId::Alerts, 0, 0)));
        let mut other = Position::default();
        other.advance(&at(TopicId::Status, 0, 4));
        other.advance(&at(TopicId::Alerts, 1, 4));
        let mut joined = position.clone();
        joined.join(&other);
        assert_eq!(joined.encode(), "s=5.0.10~a=1.5");
        let mut before = Position::default();
        before.join_before(&joined, &at(TopicId::Status, 2, 0));
        assert_eq!(before.encode(), "s=5.0~a=");
        let mut before = Position::default();
        before.join_before(&joined, &at(TopicId::Alerts, 1, 0));
        assert_eq!(before.encode(), "s=5.0.10~a=1");
        for bad in ["", "x", "s=1~b=2", "s=-1~a=", "s=1.x~a=", "s=1"] {
            assert_eq!(Position::decode(bad), None, "{bad}");
        }
    }
}
