//! The retention rule that bounds the state: a shipment whose record is `DELIVERED` or
//! `CANCELLED` is forgotten once the event-time watermark (the latest actual event time seen)
//! passes its finish time plus the retention period. Events naming it afterwards are not
//! applied but dead-lettered as late, and its published record stays as it was. Event time, not wall time, so that a replay
//! forgets the same shipments as the original run.

use crate::engine::{Engine, Forgotten, HashMap};
use kouan_model::{Event, Id, TransportStage};
use kouan_model::{Status, StatusRef};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

pub struct Retention {
    period_millis: i64,
    /// Finished shipments by finish time; entries may be stale (checked when due).
    finished: BinaryHeap<Reverse<(i64, Id)>>,
    /// The finish of each finished shipment as its latest derivation gave it, since the last
    /// change of ownership ([`Retention::doubt_noted`]): a due entry that matches it is forgotten
    /// without deriving the shipment once more (a derivation per finished shipment).
    /// Not in a checkpoint: a restored entry is confirmed by
    /// deriving, as is one of a shipment derived without a note since.
    noted: HashMap<Id, i64>,
    /// The watermark at the last trim of the container history.
    trimmed_at: Option<i64>,
}

/// How often the container history is trimmed ([`Engine::trim_history`]), as a share of the
/// retention period (of event time): a pass looks at every unit with history older than the
/// horizon (daily passes were a large share of the core's time), and what it lets go of was
/// older than the horizon by up to this much.
const TRIM_EVERY_SHARE: i64 = 4;

impl Retention {
    pub fn new(period: Duration) -> Self {
        Retention {
            period_millis: period.as_millis() as i64,
            finished: BinaryHeap::new(),
            noted: HashMap::default(),
            trimmed_at: None,
        }
    }

    /// The finished shipments it waits on, as `(finish, shipment)`, for a checkpoint.
    pub fn entries(&self) -> impl Iterator<Item = (i64, &str)> {
        self.finished
            .iter()
            .map(|Reverse((finish, id))| (*finish, id.as_str()))
    }

    /// Takes back entries as [`Retention::entries`] gave them (a checkpoint's restore).
    pub fn restore(&mut self, entries: impl IntoIterator<Item = (i64, String)>) {
        self.finished.extend(
            entries
                .into_iter()
                .map(|(finish, id)| Reverse((finish, Id::from(id)))),
        );
    }

    /// Hears of a freshly derived record.
    pub fn note(&mut self, shipment_id: &str, status: &Status) {
        self.note_finish(shipment_id, finish_millis(status));
    }

    /// Hears of a freshly derived record that finished at `finish_millis`, if it did. Every
    /// derivation of a shipment it schedules must be heard of (a runner derives a shipment only
    /// to publish it, and hears of each), or the schedule keeps a finish that is no longer so.
    pub fn note_finish(&mut self, shipment_id: &str, finish_millis: Option<i64>) {
        match finish_millis {
            // the same finish again (a later event changed something else): scheduled already
            Some(finish) if self.noted.get(shipment_id) == Some(&finish) => {}
            Some(finish) => {
                self.noted.insert(shipment_id.into(), finish);
                self.finished.push(Reverse((finish, shipment_id.into())));
            }
            None => {
                self.noted.remove(shipment_id);
            }
        }
    }

    /// Forgets what derivations said: after shipments changed owner (given up, or taken over
    /// and restored from the topics), a due shipment is derived again before it is forgotten.
    pub fn doubt_noted(&mut self) {
        self.noted.clear();
    }

    /// Whether some shipment may be due at `watermark_millis`.
    pub fn due(&self, watermark_millis: i64) -> bool {
        let horizon = watermark_millis - self.period_millis;
        self.finished
            .peek()
            .is_some_and(|Reverse((finish, _))| *finish < horizon)
    }

    /// Whether the container history is due a trim at `watermark_millis`: a quarter of the
    /// retention period of event time after the last one (the first once the watermark is
    /// known).
    pub fn trim_due(&self, watermark_millis: i64) -> bool {
        let every = (self.period_millis / TRIM_EVERY_SHARE).max(3_600_000);
        watermark_millis > 0
            && self
                .trimmed_at
                .is_none_or(|at| watermark_millis - at >= every)
    }

    /// The horizon at `watermark_millis`: what is older may be forgotten or trimmed.
    pub fn horizon(&self, watermark_millis: i64) -> i64 {
        watermark_millis - self.period_millis
    }

    /// Trims the container history older than the retention period that no remembered
    /// shipment's window reaches ([`Engine::trim_history`]); returns what the engine let go of.
    pub fn trim(&mut self, engine: &mut Engine) -> Vec<Arc<Event>> {
        let watermark = engine.watermark_millis();
        self.trimmed_at = Some(watermark);
        engine.trim_history(watermark - self.period_millis)
    }

    /// Forgets every shipment that is due; returns how many.
    pub fn sweep(&mut self, engine: &mut Engine) -> usize {
        self.sweep_with(engine, |_| true, |_, _, _| {})
    }

    /// [`Retention::sweep`] over the shipments `owns` accepts (the others belong to another
    /// instance now and are dropped from the schedule), telling `forgot` of each shipment
    /// forgotten, its finish, and the event versions the engine let go of with it.
    pub fn sweep_with(
        &mut self,
        engine: &mut Engine,
        owns: impl Fn(&str) -> bool,
        mut forgot: impl FnMut(&str, i64, Forgotten),
    ) -> usize {
        let horizon = engine.watermark_millis() - self.period_millis;
        let mut forgotten = 0;
        while self
            .finished
            .peek()
            .is_some_and(|Reverse((finish, _))| *finish < horizon)
        {
            let Reverse((finish, shipment_id)) = self.finished.pop().expect("peeked");
            if !owns(&shipment_id) {
                self.noted.remove(shipment_id.as_str());
                continue;
            }
            // still finished at the same time? later events may have changed it: the latest
            // derivation says so, or (none heard of since the last change of owner, or the
            // shipment's events are gone) a derivation now
            let noted = self.noted.get(shipment_id.as_str()).copied();
            let still = match noted {
                Some(noted) if engine.holds_direct(&shipment_id) => noted == finish,
                _ => engine.finish_millis(&shipment_id) == Some(finish),
            };
            if noted == Some(finish) {
                // the entry the note scheduled, taken now: a later note schedules anew
                self.noted.remove(shipment_id.as_str());
            }
            if still {
                let dropped = engine.forget(&shipment_id, Some(finish));
                forgot(&shipment_id, finish, dropped);
                forgotten += 1;
            }
        }
        forgotten
    }
}

/// When a finished shipment finished: delivery, or its last milestone when cancelled.
pub fn finish_millis(status: &Status) -> Option<i64> {
    finish_millis_of(&status.as_ref())
}

/// [`finish_millis`] of a borrowed record.
pub fn finish_millis_of(status: &StatusRef<'_>) -> Option<i64> {
    match status.transport_stage {
        TransportStage::Delivered => status.delivered_at.map(|t| t.unix_millis()),
        TransportStage::Cancelled => status.milestones.last().map(|m| m.event_time.unix_millis()),
        _ => None,
    }
}
