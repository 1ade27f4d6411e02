//! Finished shipments' own events parked in blocks (`crate::park`) and brought back when one is
//! derived again.

use super::*;

impl Engine {
    /// The parked version of `event`'s (`source`, `eventId`), if its shipment is parked: a
    /// version of a shipment's own event is looked for among that shipment's events (a
    /// correction naming another shipment is routed, and counted, as that shipment's event).
    pub(super) fn parked_version(&self, event: &Event) -> Option<Event> {
        let subject = direct_subject(event).filter(|id| self.park.holds(id))?;
        self.park
            .events(subject)?
            .into_iter()
            .find(|held| held.source == event.source && held.event_id == event.event_id)
    }

    /// Brings a parked shipment's events back into memory.
    pub(super) fn unpark(&mut self, shipment_id: &str) {
        let events = self.park.take(shipment_id).unwrap_or_default();
        self.restore_unparked(events);
    }

    /// Holds in memory again events read from the park.
    pub(super) fn restore_unparked(&mut self, events: Vec<Event>) {
        for mut event in events {
            self.shared.share(&mut event);
            let event = Arc::new(event);
            self.versions.restore(event.clone());
            self.index(&event);
        }
    }

    /// Moves a shipment's own events to the park ([`crate::park`]), right after a derivation
    /// found it finished, while they are in the processor's cache: a finished shipment is
    /// remembered for the retention period but seldom changes again. Deriving it again reads
    /// them back from the park; an event of its own brings them back into memory.
    pub(super) fn park(&mut self, shipment_id: &str) {
        if self.park_failed {
            return;
        }
        let Some(events) = self.direct.get(shipment_id).filter(|e| !e.is_empty()) else {
            return;
        };
        if let Err(error) = self.park.put(shipment_id, events) {
            tracing::warn!(%error, "cannot write the park file; finished shipments stay in memory");
            self.park_failed = true;
            return;
        }
        for event in self.direct.remove(shipment_id).unwrap_or_default() {
            self.versions.remove(&event.source, &event.event_id);
        }
    }

    /// Whether a shipment's own events are parked (see [`Engine::refresh`]).
    pub fn is_parked(&self, shipment_id: &str) -> bool {
        self.park.holds(shipment_id)
    }

    /// An engine that spills keeps in memory no container history for its parked shipments
    /// ([`Engine::spill_unneeded`]): what deriving one brought back goes again at the next.
    pub(super) fn settle_units_of_parked(&mut self, shipment_id: &str) {
        if !self.splits() || !self.park.holds(shipment_id) {
            return;
        }
        if let Some(units) = self.shipment_units.get(shipment_id) {
            self.unsettled.extend(units.iter().cloned());
        }
    }

    /// Shipments whose own events are parked (see [`Engine::refresh`]).
    pub fn shipments_parked(&self) -> usize {
        self.park.len()
    }
}
