//! Where a DCSA poller stands in a carrier's event stream: the latest `eventCreatedDateTime` it
//! has taken and the ids of the events created at that instant. The next poll asks for events
//! created at or after it (`eventCreatedDateTime:gte`) and skips those ids, so a poll never
//! takes an event twice and never misses one created in the same millisecond as the last.

use kouan_model::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    /// The latest creation time taken, as the carrier wrote it.
    pub after: Option<String>,
    /// The ids of the events created at `after`.
    pub seen: BTreeSet<String>,
}

fn created(event: &Value) -> Option<Timestamp> {
    Timestamp::parse(event.get("eventCreatedDateTime")?.as_str()?).ok()
}

fn id(event: &Value) -> Option<&str> {
    event.get("eventID")?.as_str()
}

impl Cursor {
    /// The cursor as its record on the pull topic holds it.
    pub fn encode(&self) -> Vec<u8> {
        json!({"after": self.after, "seen": self.seen})
            .to_string()
            .into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        let after = match value.get("after") {
            Some(Value::String(after)) => {
                Timestamp::parse(after)?;
                Some(after.clone())
            }
            Some(Value::Null) | None => None,
            Some(_) => return Err("after is not a time".into()),
        };
        let seen = value
            .get("seen")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Cursor { after, seen })
    }

    /// The events of a page this cursor has not taken yet, in the page's order; the cursor
    /// moves past them. An event without a readable `eventID` or `eventCreatedDateTime` is
    /// passed on (its parser rejects it, to the dead-letter topic) without moving the cursor.
    pub fn take(&mut self, page: Vec<Value>) -> Vec<Value> {
        let after = self.after.as_deref().and_then(|a| Timestamp::parse(a).ok());
        let mut taken = Vec::new();
        for event in page {
            let (Some(at), Some(event_id)) = (created(&event), id(&event).map(String::from)) else {
                taken.push(event);
                continue;
            };
            let current = self.after.as_deref().and_then(|a| Timestamp::parse(a).ok());
            let old = match after {
                Some(after) => at < after || (at == after && self.seen.contains(&event_id)),
                None => false,
            };
            if old {
                continue;
            }
            match current {
                Some(current) if at < current => {}
                Some(current) if at == current => {
                    self.seen.insert(event_id);
                }
                _ => {
                    self.after = event
                        .get("eventCreatedDateTime")
                        .and_then(Value::as_str)
                        .map(String::from);
                    self.seen = BTreeSet::from([event_id]);
                }
            }
            taken.push(event);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, created: &str) -> Value {
        json!({"eventID": id, "eventCreatedDateTime": created})
    }

    #[test]
    fn a_cursor_takes_each_event_once_across_polls_and_restarts() {
        let mut cursor = Cursor::default();
        let first = cursor.take(vec![
            event("a", "2026-11-20T08:00:00Z"),
            event("b", "2026-11-20T08:01:00Z"),
            event("c", "2026-11-20T08:01:00Z"),
        ]);
        assert_eq!(first.len(), 3);
        assert_eq!(cursor.after.as_deref(), Some("2026-11-20T08:01:00Z"));
        // the cursor survives its record
        let mut cursor = Cursor::decode(&cursor.encode()).unwrap();
        // the next poll asks from 08:01 on: b and c again, and d created in the same minute
        let second = cursor.take(vec![
            event("b", "2026-11-20T08:01:00Z"),
            event("c", "2026-11-20T08:01:00Z"),
            event("d", "2026-11-20T08:01:00Z"),
            event("e", "2026-11-20T09:00:00+01:00"),
        ]);
        let ids: Vec<&str> = second.iter().filter_map(id).collect();
        assert_eq!(ids, ["d"], "09:00+01:00 is 08:00Z, before the cursor");
        assert_eq!(cursor.seen.len(), 3);
        let third = cursor.take(vec![
            event("f", "2026-11-20T08:02:00Z"),
            json!({"eventID": "g"}),
        ]);
        assert_eq!(third.len(), 2, "an unreadable event goes on to be rejected");
        assert_eq!(cursor.seen, BTreeSet::from(["f".to_string()]));
        assert!(Cursor::decode(b"{\"after\": 3}").is_err());
    }
}
