//! The status store: the latest record per shipment and per alert, the indexes that answer
//! lookups and filtered lists, and the change log the feeds and webhooks read.
//!
//! Writers are the topic follower (one thread); readers are the HTTP handlers. Everything is
//! behind one `RwLock` whose critical sections are short: records are immutable `Arc`s.

use crate::auth::Caller;
use crate::error::QueryError;
use crate::position::Position;
use crate::record::{AlertRecord, Origin, StatusRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

/// Shipments per Arrow chunk of the snapshot: an update rebuilds only its chunk.
pub const CHUNK: usize = 4096;

/// What changed, as the feed and webhooks tell it.
#[derive(Debug, Clone)]
pub enum ChangeKind {
    Status(Arc<StatusRecord>),
    /// The shipment no longer has a status (a tombstone on `kouan.status`); carries the last
    /// record so visibility can still be decided.
    Removed(Arc<StatusRecord>),
    Alert(Arc<AlertRecord>),
}

impl ChangeKind {
    /// The shipper whose shipment this is about, for visibility.
    pub fn shipper(&self) -> Option<&str> {
        match self {
            ChangeKind::Status(record) | ChangeKind::Removed(record) => record.shipper.as_deref(),
            ChangeKind::Alert(alert) => alert.shipper.as_deref(),
        }
    }

    pub fn shipment_id(&self) -> &str {
        match self {
            ChangeKind::Status(record) | ChangeKind::Removed(record) => &record.shipment_id,
            ChangeKind::Alert(alert) => &alert.shipment_id,
        }
    }
}

#[derive(Debug)]
struct Change {
    seq: u64,
    origin: Origin,
    kind: ChangeKind,
    /// The store's position right after this change.
    position: Position,
}

/// A change handed to a reader, with the token that resumes right after it.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: ChangeKind,
    pub token: String,
}

/// A reader's place in the change stream: what it has seen (`seen`) and where it is in this
/// store's log. Built by [`Store::cursor`], advanced by [`Store::next_batch`].
#[derive(Debug, Clone)]
pub struct Cursor {
    seen: Position,
    next_seq: u64,
    /// The next batch must first catch up from the current state (resume or gap).
    fill: bool,
}

impl Cursor {
    pub fn token(&self) -> String {
        self.seen.encode()
    }
}

/// List filters of `GET /v1/shipments`; values are contract codes.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub shipper: Option<String>,
    pub transport_stage: Option<String>,
    pub customs_status: Option<String>,
    pub mode: Option<String>,
    /// Exclusive: items after this shipment id.
    pub after: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Facet {
    Shipper,
    Stage,
    Customs,
    Mode,
}

#[derive(Debug, Default)]
struct State {
    shipments: BTreeMap<Arc<str>, (u32, Arc<StatusRecord>)>,
    slots: Vec<Option<Arc<StatusRecord>>>,
    free_slots: Vec<u32>,
    index: HashMap<(Facet, Arc<str>), BTreeSet<Arc<str>>>,
    alerts: BTreeMap<Arc<str>, Arc<AlertRecord>>,
    log: VecDeque<Change>,
    next_seq: u64,
    /// Everything dropped from the front of the log lies below this position.
    trimmed: Position,
    position: Position,
    dirty_chunks: BTreeSet<usize>,
    alerts_dirty: bool,
}

/// Counters for `/metrics` and logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoreCounts {
    pub shipments: usize,
    pub alerts: usize,
    pub firing: usize,
    pub log: usize,
}

pub struct Store {
    state: parking_lot::RwLock<State>,
    feed_window: usize,
    latest: tokio::sync::watch::Sender<u64>,
}

/// Rows of one snapshot refresh: the chunks that changed with their records, and the alerts
/// if they changed.
pub struct DirtyRows {
    pub chunks: Vec<(usize, Vec<Arc<StatusRecord>>)>,
    pub alerts: Option<Vec<Arc<AlertRecord>>>,
}

fn facets(record: &StatusRecord) -> Vec<(Facet, Arc<str>)> {
    let mut facets = vec![
        (Facet::Stage, Arc::from(record.transport_stage().code())),
        (Facet::Customs, Arc::from(record.customs_status().code())),
    ];
    if let Some(shipper) = &record.shipper {
        facets.push((Facet::Shipper, shipper.clone()));
    }
    if let Some(mode) = record.mode() {
        facets.push((Facet::Mode, Arc::from(mode.code())));
    }
    facets
}

impl Store {
    /// `feed_window`: how many changes the log keeps for feeds and webhooks to resume from;
    /// a reader further behind catches up from the current records instead (intermediate
    /// versions of a shipment are then skipped, the latest is never lost).
    pub fn new(feed_window: usize) -> Self {
        Self {
            state: Default::default(),
            feed_window: feed_window.max(1),
            latest: tokio::sync::watch::channel(0).0,
        }
    }

    /// Wakes when the log grows.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// Applies a `kouan.status` record (`None`: a tombstone). A record that does not decode
    /// is an error and changes nothing but the position.
    pub fn apply_status(
        &self,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        origin: Origin,
    ) -> Result<(), QueryError> {
        let decoded = payload.map(|bytes| StatusRecord::decode(bytes, origin));
        let mut state = self.state.write();
        state.position.advance(&origin);
        let kind = match decoded {
            None => {
                let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) else {
                    return Ok(());
                };
                let Some((slot, old)) = state.shipments.remove(key) else {
                    return Ok(());
                };
                state.unindex(&old);
                state.slots[slot as usize] = None;
                state.free_slots.push(slot);
                state.dirty_chunks.insert(slot as usize / CHUNK);
                ChangeKind::Removed(old)
            }
            Some(Err(error)) => return Err(error),
            Some(Ok(record)) => {
                let record = Arc::new(record);
                let slot = match state.shipments.get(&record.shipment_id) {
                    Some((slot, old)) => {
                        if old.version == record.version && old.same_content(&record) {
                            return Ok(());
                        }
                        let (slot, old) = (*slot, old.clone());
                        state.unindex(&old);
                        slot
                    }
                    None => match state.free_slots.pop() {
                        Some(slot) => slot,
                        None => {
                            state.slots.push(None);
                            (state.slots.len() - 1) as u32
                        }
                    },
                };
                state.index(&record);
                state.slots[slot as usize] = Some(record.clone());
                state
                    .shipments
                    .insert(record.shipment_id.clone(), (slot, record.clone()));
                state.dirty_chunks.insert(slot as usize / CHUNK);
                ChangeKind::Status(record)
            }
        };
        self.log(&mut state, origin, kind);
        Ok(())
    }

    /// Applies a `kouan.alerts` record.
    pub fn apply_alert(&self, payload: &[u8], origin: Origin) -> Result<(), QueryError> {
        let decoded = AlertRecord::decode(payload, origin);
        let mut state = self.state.write();
        state.position.advance(&origin);
        let alert = Arc::new(decoded?);
        state.alerts.insert(alert.alert_id.clone(), alert.clone());
        state.alerts_dirty = true;
        self.log(&mut state, origin, ChangeKind::Alert(alert));
        Ok(())
    }

    fn log(&self, state: &mut State, origin: Origin, kind: ChangeKind) {
        let seq = state.next_seq;
        state.next_seq += 1;
        let position = state.position.clone();
        state.log.push_back(Change {
            seq,
            origin,
            kind,
            position,
        });
        while state.log.len() > self.feed_window {
            let dropped = state.log.pop_front().expect("non-empty");
            state.trimmed.advance(&dropped.origin);
        }
        self.latest.send_replace(state.next_seq);
    }

    pub fn get(&self, shipment_id: &str) -> Option<Arc<StatusRecord>> {
        self.state
            .read()
            .shipments
            .get(shipment_id)
            .map(|(_, record)| record.clone())
    }

    /// One page of shipments visible to `caller`, ordered by shipment id, and whether more follow.
    /// The filter with the fewest members drives the walk; the others are checked per record.
    pub fn list(&self, caller: &Caller, query: &ListQuery) -> (Vec<Arc<StatusRecord>>, bool) {
        let shipper = match (caller.shipper(), query.shipper.as_deref()) {
            (Some(own), Some(asked)) if own != asked => return (Vec::new(), false),
            (Some(own), _) => Some(own.to_string()),
            (None, asked) => asked.map(str::to_string),
        };
        let wanted: Vec<(Facet, &str)> = [
            (Facet::Shipper, shipper.as_deref()),
            (Facet::Stage, query.transport_stage.as_deref()),
            (Facet::Customs, query.customs_status.as_deref()),
            (Facet::Mode, query.mode.as_deref()),
        ]
        .into_iter()
        .filter_map(|(facet, value)| value.map(|v| (facet, v)))
        .collect();
        let state = self.state.read();
        let start: Bound<&str> = match &query.after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let matches = |record: &StatusRecord| {
            wanted.iter().all(|(facet, value)| match facet {
                Facet::Shipper => record.shipper.as_deref() == Some(*value),
                Facet::Stage => record.transport_stage().code() == *value,
                Facet::Customs => record.customs_status().code() == *value,
                Facet::Mode => record.mode().map(|m| m.code()) == Some(*value),
            })
        };
        let mut items = Vec::with_capacity(query.limit.min(1024));
        let mut more = false;
        let mut take = |record: &Arc<StatusRecord>| {
            if !caller.sees(record.shipper.as_deref()) || !matches(record) {
                return true;
            }
            if items.len() == query.limit {
                more = true;
                return false;
            }
            items.push(record.clone());
            true
        };
        let smallest = wanted
            .iter()
            .map(|(facet, value)| {
                state
                    .index
                    .get(&(*facet, Arc::from(*value)))
                    .map_or(0, BTreeSet::len)
            })
            .enumerate()
            .min_by_key(|(_, len)| *len);
        match smallest {
            None => {
                for (_, (_, record)) in state.shipments.range::<str, _>((start, Bound::Unbounded)) {
                    if !take(record) {
                        break;
                    }
                }
            }
            Some((which, _)) => {
                let (facet, value) = wanted[which];
                if let Some(ids) = state.index.get(&(facet, Arc::from(value))) {
                    for id in ids.range::<str, _>((start, Bound::Unbounded)) {
                        if !take(&state.shipments[id].1) {
                            break;
                        }
                    }
                }
            }
        }
        (items, more)
    }

    /// Alerts of shipments visible to `caller`, ordered by alert id, optionally in one state
    /// and after a cursor.
    pub fn alerts(
        &self,
        caller: &Caller,
        state_filter: Option<kouan_model::AlertState>,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<Arc<AlertRecord>>, bool) {
        let state = self.state.read();
        let start: Bound<&str> = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::new();
        for (_, alert) in state.alerts.range::<str, _>((start, Bound::Unbounded)) {
            if state_filter.is_some_and(|wanted| wanted != alert.alert.state) {
                continue;
            }
            if !state.alert_visible(caller, alert) {
                continue;
            }
            if items.len() == limit {
                return (items, true);
            }
            items.push(alert.clone());
        }
        (items, false)
    }

    /// Whether `caller` may see this change now: a shipment's visibility follows its current
    /// record, so a shipment moved to another shipper stops showing to the first.
    pub fn visible(&self, caller: &Caller, kind: &ChangeKind) -> bool {
        if caller.is_operator() {
            return true;
        }
        match kind {
            ChangeKind::Alert(alert) => self.state.read().alert_visible(caller, alert),
            other => caller.sees(other.shipper()),
        }
    }

    /// A cursor at the live end (`from: None`) or resuming after a token.
    pub fn cursor(&self, from: Option<Position>) -> Cursor {
        let state = self.state.read();
        match from {
            None => Cursor {
                seen: state.position.clone(),
                next_seq: state.next_seq,
                fill: false,
            },
            Some(seen) => Cursor {
                seen,
                next_seq: 0,
                fill: true,
            },
        }
    }

    /// Up to about `max` changes after the cursor, oldest first, and moves the cursor past them.
    /// Empty when the reader is at the live end.
    pub fn next_batch(&self, cursor: &mut Cursor, max: usize) -> Vec<Item> {
        let state = self.state.read();
        let first_seq = state.log.front().map_or(state.next_seq, |c| c.seq);
        if cursor.next_seq < first_seq {
            // behind the log's start: catch up from the current records
            cursor.fill = true;
        }
        let mut items = Vec::new();
        if cursor.fill {
            cursor.fill = false;
            items = state.fill(&mut cursor.seen);
            cursor.next_seq = first_seq;
        }
        let start = (cursor.next_seq - first_seq) as usize;
        for change in state.log.range(start.min(state.log.len())..) {
            cursor.next_seq = change.seq + 1;
            if !cursor.seen.unseen(&change.origin) {
                continue;
            }
            cursor.seen.join(&change.position);
            items.push(Item {
                kind: change.kind.clone(),
                token: cursor.seen.encode(),
            });
            if items.len() >= max {
                break;
            }
        }
        items
    }

    /// Records of changed snapshot chunks since the last call.
    pub fn take_dirty(&self) -> DirtyRows {
        let mut state = self.state.write();
        let dirty = std::mem::take(&mut state.dirty_chunks);
        let chunks = dirty
            .into_iter()
            .map(|chunk| {
                let end = ((chunk + 1) * CHUNK).min(state.slots.len());
                let rows = state.slots[chunk * CHUNK..end]
                    .iter()
                    .flatten()
                    .cloned()
                    .collect();
                (chunk, rows)
            })
            .collect();
        let alerts = std::mem::take(&mut state.alerts_dirty)
            .then(|| state.alerts.values().cloned().collect());
        DirtyRows { chunks, alerts }
    }

    pub fn counts(&self) -> StoreCounts {
        let state = self.state.read();
        StoreCounts {
            shipments: state.shipments.len(),
            alerts: state.alerts.len(),
            firing: state.alerts.values().filter(|a| a.is_firing()).count(),
            log: state.log.len(),
        }
    }

    /// Where the caller's active shipments are now (the dashboard's network view): per node the
    /// shipments waiting there with their current dwell, and the shipments moving between
    /// nodes by mode, by the model's [`Status::waiting`](kouan_model::Status::waiting) and
    /// [`Status::is_moving`](kouan_model::Status::is_moving). Finished shipments are left out.
    pub fn network(&self, caller: &Caller, now_millis: i64) -> serde_json::Value {
        let state = self.state.read();
        let mut nodes: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut moving: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut stages: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (_, record) in state.shipments.values() {
            if !caller.sees(record.shipper.as_deref()) {
                continue;
            }
            let status = &record.status;
            *stages.entry(status.transport_stage.code()).or_default() += 1;
            if status.is_moving() {
                let mode = record.mode().map_or("UNKNOWN", |m| m.code());
                *moving.entry(mode).or_default() += 1;
            } else if let Some((node, _)) = status.waiting() {
                nodes
                    .entry(node)
                    .or_default()
                    .push(status.dwell_hours(now_millis).unwrap_or(0.0));
            }
        }
        let firing = state
            .alerts
            .values()
            .filter(|a| a.is_firing() && state.alert_visible(caller, a))
            .count();
        let nodes: Vec<serde_json::Value> = nodes
            .into_iter()
            .map(|(location, mut dwell)| {
                dwell.sort_by(f64::total_cmp);
                serde_json::json!({
                    "location": location,
                    "shipments": dwell.len(),
                    "p50DwellHours": dwell[dwell.len() / 2],
                    "maxDwellHours": dwell[dwell.len() - 1],
                })
            })
            .collect();
        serde_json::json!({
            "nodes": nodes,
            "moving": moving,
            "stages": stages,
            "firingAlerts": firing,
        })
    }

    /// The position after everything applied so far.
    pub fn position(&self) -> Position {
        self.state.read().position.clone()
    }
}

impl State {
    fn index(&mut self, record: &StatusRecord) {
        for facet in facets(record) {
            self.index
                .entry(facet)
                .or_default()
                .insert(record.shipment_id.clone());
        }
    }

    fn unindex(&mut self, record: &StatusRecord) {
        for facet in facets(record) {
            if let Some(ids) = self.index.get_mut(&facet) {
                ids.remove(&record.shipment_id);
                if ids.is_empty() {
                    self.index.remove(&facet);
                }
            }
        }
    }

    /// A shipper sees an alert when the alert names it and its shipment (if the store holds
    /// it) is still its own: an alert raised before the shipment moved to another shipper
    /// must not show either shipper to the other.
    fn alert_visible(&self, caller: &Caller, alert: &AlertRecord) -> bool {
        let current = self
            .shipments
            .get(&alert.shipment_id)
            .map(|(_, record)| record.shipper.as_deref());
        caller.sees(alert.shipper.as_deref()) && current.is_none_or(|shipper| caller.sees(shipper))
    }

    /// Catch-up for a reader whose unseen records fell off the log: the current record of
    /// every shipment and alert it has not seen below the log's start, in (topic, partition,
    /// offset) order, each with a token that resumes right after it. `seen` ends at the log's
    /// start (or further, where the reader already was).
    fn fill(&self, seen: &mut Position) -> Vec<Item> {
        let below_log = |origin: &Origin| seen.unseen(origin) && !self.trimmed.unseen(origin);
        let mut missing: Vec<(Origin, ChangeKind)> = self
            .shipments
            .values()
            .filter(|(_, record)| below_log(&record.origin))
            .map(|(_, record)| (record.origin, ChangeKind::Status(record.clone())))
            .chain(
                self.alerts
                    .values()
                    .filter(|alert| below_log(&alert.origin))
                    .map(|alert| (alert.origin, ChangeKind::Alert(alert.clone()))),
            )
            .collect();
        missing.sort_by_key(|(origin, _)| *origin);
        let target = {
            let mut target = seen.clone();
            target.join(&self.trimmed);
            target
        };
        let mut items = Vec::with_capacity(missing.len());
        for (origin, kind) in missing {
            // partitions before this one are complete; this one up to the record
            seen.join_before(&target, &origin);
            seen.advance(&origin);
            items.push(Item {
                kind,
                token: seen.encode(),
            });
        }
        *seen = target;
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::record::TopicId;
    use kouan_model::{Status, Timestamp, TransportStage};
    use prost::Message;

    fn record(id: &str, shipper: &str, stage: TransportStage, version: u64) -> Vec<u8> {
        let status = Status {
            shipper: Some(shipper.into()),
            transport_stage: stage,
            ..Status::empty(id)
        };
        let at = Timestamp::from_parts(1_790_000_000, 0, 0).unwrap();
        status.to_proto(version, &at).encode_to_vec()
    }

    fn operator() -> Caller {
        Caller {
            name: "op".into(),
            role: Role::Operator,
        }
    }

    /// 3 partitions, 12 shipments, 5 versions each, applied in an interleaved order.
    fn filled(window: usize) -> (Store, Vec<(String, u64)>) {
        let store = Store::new(window);
        let mut next = [0i64; 3];
        let mut applied = Vec::new();
        for version in 1..=5u64 {
            for i in 0..12 {
                let partition = i % 3;
                let origin = Origin {
                    topic: TopicId::Status,
                    partition: partition as i32,
                    offset: next[partition],
                };
                next[partition] += 1;
                let id = format!("S{i:02}");
                store
                    .apply_status(
                        None,
                        Some(&record(&id, "A", TransportStage::Booked, version)),
                        origin,
                    )
                    .unwrap();
                applied.push((id, version));
            }
        }
        (store, applied)
    }

    fn drain(store: &Store, mut cursor: Cursor) -> Vec<Item> {
        let mut items = Vec::new();
        loop {
            let batch = store.next_batch(&mut cursor, 7);
            if batch.is_empty() {
                return items;
            }
            items.extend(batch);
        }
    }

    fn key(item: &Item) -> (String, u64) {
        match &item.kind {
            ChangeKind::Status(record) => (record.shipment_id.to_string(), record.version),
            _ => panic!("only status changes here"),
        }
    }

    #[test]
    fn resuming_from_any_token_gives_exactly_the_rest() {
        let (store, applied) = filled(1_000);
        let everything = drain(&store, store.cursor(Some(Position::default())));
        assert_eq!(everything.iter().map(key).collect::<Vec<_>>(), applied);
        for (at, item) in everything.iter().enumerate() {
            let rest = drain(&store, store.cursor(Position::decode(&item.token)));
            assert_eq!(
                rest.iter().map(key).collect::<Vec<_>>(),
                applied[at + 1..].to_vec(),
                "after item {at}"
            );
        }
        assert!(drain(&store, store.cursor(None)).is_empty(), "live end");
    }

    #[test]
    fn a_reader_behind_a_short_log_gets_the_latest_of_what_it_missed_once() {
        let (store, applied) = filled(10);
        let items = drain(&store, store.cursor(Some(Position::default())));
        let keys: Vec<(String, u64)> = items.iter().map(key).collect();
        let distinct: BTreeSet<&(String, u64)> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "nothing twice: {keys:?}");
        // every shipment's latest version arrives, and the last 10 changes exactly
        for i in 0..12 {
            assert!(keys.contains(&(format!("S{i:02}"), 5)), "S{i:02}: {keys:?}");
        }
        assert_eq!(keys[keys.len() - 10..], applied[applied.len() - 10..]);
        // and every token of the catch-up resumes exactly after itself
        for (at, item) in items.iter().enumerate() {
            let rest: Vec<(String, u64)> =
                drain(&store, store.cursor(Position::decode(&item.token)))
                    .iter()
                    .map(key)
                    .collect();
            assert_eq!(rest, keys[at + 1..].to_vec(), "after item {at}");
        }
    }

    #[test]
    fn lists_page_through_indexes_with_visibility() {
        let store = Store::new(100);
        for i in 0..30 {
            let shipper = if i % 3 == 0 { "A" } else { "B" };
            let stage = if i % 2 == 0 {
                TransportStage::Arrived
            } else {
                TransportStage::Booked
            };
            let origin = Origin {
                topic: TopicId::Status,
                partition: 0,
                offset: i,
            };
            store
                .apply_status(
                    None,
                    Some(&record(&format!("S{i:02}"), shipper, stage, 1)),
                    origin,
                )
                .unwrap();
        }
        let shipper_a = Caller {
            name: "a".into(),
            role: Role::Shipper("A".into()),
        };
        let mut query = ListQuery {
            transport_stage: Some("ARRIVED".into()),
            limit: 2,
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let (items, more) = store.list(&shipper_a, &query);
            seen.extend(items.iter().map(|r| r.shipment_id.to_string()));
            if !more {
                break;
            }
            query.after = items.last().map(|r| r.shipment_id.to_string());
        }
        assert_eq!(seen, ["S00", "S06", "S12", "S18", "S24"]);
        let all = ListQuery {
            limit: 1000,
            ..Default::default()
        };
        assert_eq!(store.list(&operator(), &all).0.len(), 30);
        let other = ListQuery {
            shipper: Some("B".into()),
            limit: 1000,
            ..Default::default()
        };
        assert!(store.list(&shipper_a, &other).0.is_empty());
        // a tombstone removes the shipment from every index
        let origin = Origin {
            topic: TopicId::Status,
            partition: 0,
            offset: 30,
        };
        store.apply_status(Some(b"S00"), None, origin).unwrap();
        assert!(store.get("S00").is_none());
        assert_eq!(
            store
                .list(
                    &shipper_a,
                    &ListQuery {
                        limit: 1000,
                        ..Default::default()
                    }
                )
                .0
                .len(),
            9
        );
        // a record that does not decode changes nothing
        let origin = Origin {
            topic: TopicId::Status,
            partition: 0,
            offset: 31,
        };
        assert!(store.apply_status(None, Some(b"\xff\xff"), origin).is_err());
        assert_eq!(store.counts().shipments, 29);
    }
}
