//! The live feed: Server-Sent Events per caller. Events are `status` (data: the status JSON with
//! `dwellHours`), `alert` (data: the alert JSON) and `removed` (data: `{"shipmentId": …}`, when a
//! shipment's status was withdrawn). Every event's `id` is a resume token: reconnecting with
//! `Last-Event-ID` set to it delivers every later change exactly once.

use crate::auth::Caller;
use crate::store::{ChangeKind, Cursor, Item, Store};
use axum::response::sse::Event;
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Changes looked at per wake-up; bounds the work done under the store's read lock.
const BATCH: usize = 512;

/// Renders a change as an SSE event.
pub fn event(item: &Item, now_millis: i64) -> Event {
    let (name, data) = match &item.kind {
        ChangeKind::Status(_) => (
            "status",
            item.status_json(now_millis).expect("a status change"),
        ),
        ChangeKind::Alert(alert) => ("alert", alert.to_json()),
        ChangeKind::Removed(record) => (
            "removed",
            serde_json::json!({"shipmentId": &*record.shipment_id}).to_string(),
        ),
    };
    Event::default()
        .event(name)
        .id(item.token.clone())
        .data(data)
}

/// One open feed, counted on the open-feeds gauge until dropped (client gone or shutdown).
pub struct Open(prometheus_client::metrics::gauge::Gauge);

impl Open {
    /// Takes a slot among at most `max` open feeds; `None` when all are taken. The gauge is the
    /// count itself: taking and checking are one atomic step, so a burst cannot overshoot.
    pub fn take(gauge: &prometheus_client::metrics::gauge::Gauge, max: usize) -> Option<Open> {
        let before = gauge.inc();
        if before >= max as i64 {
            gauge.dec();
            return None;
        }
        Some(Open(gauge.clone()))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The event stream of one caller from `cursor` on; ends at shutdown.
pub fn stream(
    store: Arc<Store>,
    caller: Caller,
    cursor: Cursor,
    cancel: CancellationToken,
    open: Open,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let changes = store.subscribe();
    let state = (store, caller, cursor, cancel, changes, open);
    futures::stream::unfold(
        state,
        |(store, caller, mut cursor, cancel, mut changes, open)| async move {
            loop {
                // mark the current log end as seen before reading, so a change appended
                // after the read still wakes us
                changes.borrow_and_update();
                let batch = store.next_batch(&mut cursor, BATCH, &caller);
                let at_end = batch.at_end;
                let now = store.now_millis();
                let events: Vec<Result<Event, Infallible>> = batch
                    .items
                    .iter()
                    .map(|item| Ok(event(item, now)))
                    .collect();
                if !events.is_empty() {
                    return Some((
                        futures::stream::iter(events),
                        (store, caller, cursor, cancel, changes, open),
                    ));
                }
                if at_end {
                    tokio::select! {
                        _ = cancel.cancelled() => return None,
                        changed = changes.changed() => if changed.is_err() { return None },
                    }
                } else {
                    // a batch of changes this caller may not see: let other tasks run before
                    // the next one, so one feed cannot hold a worker (and the store) for long
                    tokio::task::yield_now().await;
                }
            }
        },
    )
    .flat_map(|events| events)
}
