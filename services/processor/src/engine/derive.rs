//! Deriving an owned shipment's status from what the engine holds: the events its window reads,
//! in memory or brought back from the spill or the park.

use super::*;

impl Engine {
    /// The status of one shipment now; `None` when no counted event concerns it. It reads only
    /// what is held in memory: an engine that spills (see [`Engine::set_owner`]) derives through
    /// [`Engine::refresh`], which first brings back what the shipment's windows reach.
    pub fn status(&self, shipment_id: &str) -> Option<Status> {
        self.derive_with_reach(shipment_id, |status| status.map(|s| s.to_owned()))
            .0
    }

    /// The status of one shipment now, remembering how far its links reach so that later
    /// equipment and transport events beyond the reach do not mark it as affected. The runner
    /// derives through [`Engine::refresh_encoded`]; this is the same, owned.
    ///
    /// A shipment it finds finished (delivered or cancelled) has its own events moved to the
    /// park on local disk ([`crate::park`]), and one it finds no longer finished has them back.
    pub fn refresh(&mut self, shipment_id: &str) -> Option<Status> {
        self.refresh_with(shipment_id, |status| status.to_owned())
    }

    /// [`Engine::refresh`] as the runner needs it: the record encoded (with its digest) and when
    /// it finished, if it did (see [`crate::retention::finish_millis`]) — derived from borrowed
    /// events, with no copy of their text.
    pub fn refresh_encoded(&mut self, shipment_id: &str) -> Option<Refreshed> {
        self.refresh_with(shipment_id, |status| Refreshed {
            encoded: status.encoded(),
            finish_millis: crate::retention::finish_millis_of(status),
        })
    }

    /// When the shipment finished, if it did ([`crate::retention::finish_millis`]).
    pub fn finish_millis(&mut self, shipment_id: &str) -> Option<i64> {
        self.bring_back_for(shipment_id);
        self.settle_units_of_parked(shipment_id);
        self.derive_with_reach(shipment_id, |status| {
            status.and_then(|s| crate::retention::finish_millis_of(&s))
        })
        .0
    }

    pub(super) fn refresh_with<R>(
        &mut self,
        shipment_id: &str,
        read: impl FnOnce(&StatusRef<'_>) -> R,
    ) -> Option<R> {
        self.bring_back_for(shipment_id);
        let (read, reach) = self.derive_with_reach(shipment_id, |status| {
            status.as_ref().map(|status| {
                let finished = crate::retention::finish_millis_of(status);
                (finished, read(status))
            })
        });
        let finished = read.as_ref().is_some_and(|(finish, _)| finish.is_some());
        match self.park.holds(shipment_id) {
            false if finished => self.park(shipment_id),
            // no longer finished (a container's delivery retracted, say): back into memory
            true if !finished => self.unpark(shipment_id),
            _ => {}
        }
        self.settle_units_of_parked(shipment_id);
        let read = read.map(|(_, read)| read);
        if read.is_some() {
            // most refreshes are of a shipment refreshed before: no new key to allocate
            match self.reach.get_mut(shipment_id) {
                Some(held) => *held = reach,
                None => {
                    self.reach.insert(shipment_id.into(), reach);
                }
            }
        } else {
            self.reach.remove(shipment_id);
        }
        read
    }

    pub(super) fn derive_with_reach<R>(
        &self,
        shipment_id: &str,
        read: impl FnOnce(Option<StatusRef<'_>>) -> R,
    ) -> (R, i64) {
        fn refs(events: Option<&Vec<Arc<Event>>>) -> Vec<&Event> {
            events
                .map(|events| events.iter().map(|e| e.as_ref()).collect())
                .unwrap_or_default()
        }
        let parked = self.park.events(shipment_id);
        let direct = match &parked {
            Some(events) => events.iter().collect(),
            None => refs(self.direct.get(shipment_id)),
        };
        let conveyance_events = |conveyance: &str| refs(self.conveyance_events.get(conveyance));
        let mut candidates = Candidates {
            direct,
            units: Default::default(),
            conveyance_events: &conveyance_events,
        };
        for unit in self.shipment_units.get(shipment_id).into_iter().flatten() {
            candidates
                .units
                .insert(unit, refs(self.unit_events.get(unit)));
        }
        let (events, reach) = belonging_and_reach(shipment_id, &candidates);
        let status = (!events.is_empty()).then(|| derive_ref(shipment_id, &events));
        (read(status), reach)
    }
}
