//! Pages of `/dcsa/tnt/v2/events`: a page starts after (or ends before) a key of the order, so
//! paging to the end returns every event once whatever arrives meanwhile — an event that
//! arrives behind the cursor is not in this walk (a new walk, or a poll with
//! `eventCreatedDateTime:gte`, finds it), one that arrives ahead of it is.
//!
//! A cursor carries the request's filters, order, limit and anchor, so that the next request
//! sends it alone. It is not a capability: every page is filtered again for the caller who
//! sends it.

use super::Key;
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// Where a page lies: after a key (`None`: from the start) or before one (`None`: up to the
/// end), in the order asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    After(Option<Key>),
    Before(Option<Key>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The filter parameters as the first request gave them.
    pub params: Vec<(String, String)>,
    pub order: Order,
    pub anchor: Anchor,
    pub limit: usize,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    p: Vec<(String, String)>,
    d: bool,
    b: bool,
    k: Option<(i64, String, String)>,
    l: usize,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let (before, key) = match &self.anchor {
            Anchor::After(key) => (false, key),
            Anchor::Before(key) => (true, key),
        };
        let wire = Wire {
            p: self.params.clone(),
            d: self.order == Order::Descending,
            b: before,
            k: key
                .as_ref()
                .map(|(millis, id, fp)| (*millis, format!("{id:032x}"), format!("{fp:x}"))),
            l: self.limit,
        };
        let json = serde_json::to_vec(&wire).expect("a cursor always serializes");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| "is not a cursor this server gave".to_string())?;
        let wire: Wire = serde_json::from_slice(&bytes)
            .map_err(|_| "is not a cursor this server gave".to_string())?;
        let key = wire
            .k
            .map(|(millis, id, fp)| {
                match (u128::from_str_radix(&id, 16), u64::from_str_radix(&fp, 16)) {
                    (Ok(id), Ok(fp)) => Ok((millis, id, fp)),
                    _ => Err("is not a cursor this server gave".to_string()),
                }
            })
            .transpose()?;
        Ok(Cursor {
            params: wire.p,
            order: if wire.d {
                Order::Descending
            } else {
                Order::Ascending
            },
            anchor: if wire.b {
                Anchor::Before(key)
            } else {
                Anchor::After(key)
            },
            limit: wire.l,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let cursor = Cursor {
            params: vec![("eventType".into(), "EQUIPMENT".into())],
            order: Order::Descending,
            anchor: Anchor::Before(Some((17, 0x1234_5678, 0xfeed))),
            limit: 20,
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode("").is_err());
    }
}
