//! Letting go of a shipment past retention, and of the shared events nothing reaches after it.

use super::*;

/// What [`Engine::forget`] let go of.
#[derive(Debug, Default)]
pub struct Forgotten {
    /// The event versions it held in memory (direct ones first).
    pub events: Vec<Arc<Event>>,
    /// The shipment's own events if they were parked, as their block ([`crate::park`]): not
    /// decoded, since a runner needs only their keys and the benchmarks nothing of them.
    parked: Vec<u8>,
}

impl Forgotten {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.parked.is_empty()
    }

    /// The keys ([`crate::changelog::event_key`]) of the shipment's own events let go of.
    pub fn own_event_keys(&self) -> Vec<Vec<u8>> {
        let held = (self.events.iter())
            .filter(|event| direct_subject(event).is_some())
            .map(|event| crate::changelog::event_key(event));
        let parked = crate::park::block_identities(&self.parked)
            .into_iter()
            .map(|(source, event_id)| crate::changelog::identity_key(source, event_id));
        held.chain(parked).collect()
    }

    /// The container and conveyance events let go of.
    pub fn shared_events(&self) -> impl Iterator<Item = &Arc<Event>> {
        (self.events.iter()).filter(|event| direct_subject(event).is_none())
    }
}

impl Engine {
    /// The retention rule: forgets `shipment_id` for good — its direct events, and the events of
    /// units and conveyances that no remembered shipment can reach any more. Later events naming
    /// it are ignored, so a forgotten shipment's published record stays as it was.
    ///
    /// `finish_millis`: when it finished, for the dead letters of its late events (`None`: not
    /// known). Returns every event version it let go of, so that a runner can delete them from
    /// its changelogs too.
    pub fn forget(&mut self, shipment_id: &str, finish_millis: Option<i64>) -> Forgotten {
        let mut dropped = Vec::new();
        self.forgotten
            .insert(shipment_id.into(), finish_millis.unwrap_or(i64::MIN));
        self.reach.remove(shipment_id);
        self.link_floors.remove(shipment_id);
        self.drop_retractions(shipment_id, &mut dropped);
        for event in self.direct.remove(shipment_id).unwrap_or_default() {
            self.versions.remove(&event.source, &event.event_id);
            dropped.push(event);
        }
        let parked = self.park.take_block(shipment_id).unwrap_or_default();
        let units = self.shipment_units.remove(shipment_id).unwrap_or_default();
        if self.splits() {
            self.unsettled.extend(units.iter().cloned());
        }
        for unit in units {
            let Some(shipments) = self.unit_shipments.get_mut(&unit) else {
                continue;
            };
            shipments.remove(shipment_id);
            if !shipments.is_empty() {
                continue;
            }
            self.unit_shipments.remove(&unit);
            match &mut self.deferred {
                Some(orphans) => {
                    orphans.units.insert(unit);
                }
                None => self.drop_unit(&unit, &mut dropped),
            }
        }
        for flight in self
            .shipment_flights
            .remove(shipment_id)
            .unwrap_or_default()
        {
            if let Some(shipments) = self.flight_shipments.get_mut(&flight) {
                shipments.remove(shipment_id);
                if shipments.is_empty() {
                    self.flight_shipments.remove(&flight);
                    match &mut self.deferred {
                        Some(orphans) => {
                            orphans.flights.insert(flight);
                        }
                        None => self.drop_conveyance_if_unreachable(&flight, &mut dropped),
                    }
                }
            }
        }
        Forgotten {
            events: dropped,
            parked,
        }
    }

    /// Drops the direct events of a shipment this instance no longer owns (its partition moved to
    /// another instance); the links stay, as for every shipment owned elsewhere.
    pub fn release(&mut self, shipment_id: &str) {
        self.reach.remove(shipment_id);
        self.drop_retractions(shipment_id, &mut Vec::new());
        if let Some(units) = self
            .shipment_units
            .get(shipment_id)
            .filter(|_| self.splits())
        {
            self.unsettled.extend(units.iter().cloned());
        }
        for event in self.direct.remove(shipment_id).unwrap_or_default() {
            self.versions.remove(&event.source, &event.event_id);
        }
        self.park.drop_block(shipment_id);
    }

    /// Whether `shipment_id` was forgotten under the retention rule.
    pub fn is_forgotten(&self, shipment_id: &str) -> bool {
        self.forgotten.contains_key(shipment_id)
    }

    /// When a forgotten shipment finished: `None` if it is not forgotten, `Some(None)` if its
    /// finish is not known.
    pub fn forgotten_finish(&self, shipment_id: &str) -> Option<Option<i64>> {
        let finish = *self.forgotten.get(shipment_id)?;
        Some((finish != i64::MIN).then_some(finish))
    }

    /// From now until [`Engine::drop_unreachable`], [`Engine::forget`] lets go of a forgotten
    /// shipment's own events only. A restore reads the shared table's partitions one after
    /// another: a `forgotten` record can come before the links of another shipment on the same
    /// flight or container, written to another partition, and judging reach then dropped that
    /// flight's events for the live shipment too (found in `bench process`: a restore from the
    /// topics alone derived 519 of 53,325 shipments without their flights' departures and
    /// arrivals).
    pub fn defer_unreachable(&mut self) {
        self.deferred.get_or_insert_with(Orphans::default);
    }

    /// Ends [`Engine::defer_unreachable`]: lets go of the events of the units and flights that
    /// forgotten shipments left and that no shipment reaches now every link is read. Returns
    /// them.
    pub fn drop_unreachable(&mut self) -> Vec<Arc<Event>> {
        let mut dropped = Vec::new();
        let Some(orphans) = self.deferred.take() else {
            return dropped;
        };
        for unit in orphans.units {
            if self.unit_shipments.get(&unit).is_none_or(|s| s.is_empty()) {
                self.unit_shipments.remove(&unit);
                self.drop_unit(&unit, &mut dropped);
            }
        }
        for flight in orphans.flights {
            self.drop_conveyance_if_unreachable(&flight, &mut dropped);
        }
        dropped
    }

    /// Lets go of the events of a unit no shipment reaches, and of the conveyances only it was on.
    /// Lets go of the retracted winners held under `home` (a shipment, unit or conveyance).
    pub(super) fn drop_retractions(&mut self, home: &str, dropped: &mut Vec<Arc<Event>>) {
        for event in self.retractions.remove(home).unwrap_or_default() {
            let winner = self.versions.get(&event);
            if winner.is_some_and(|winner| Arc::ptr_eq(winner, &event)) {
                self.versions.remove(&event.source, &event.event_id);
                dropped.push(event);
            }
        }
    }

    pub(super) fn drop_unit(&mut self, unit: &str, dropped: &mut Vec<Arc<Event>>) {
        self.drop_retractions(unit, dropped);
        for event in self.unit_events.remove(unit).unwrap_or_default() {
            self.versions.remove(&event.source, &event.event_id);
            dropped.push(event);
        }
        self.residency.remove(unit);
        dropped.extend(
            self.spill
                .take_unit_from(unit, i64::MIN)
                .into_iter()
                .map(Arc::new),
        );
        for conveyance in self.unit_conveyances.remove(unit).unwrap_or_default() {
            let Some(units) = self.conveyance_units.get_mut(&conveyance) else {
                continue;
            };
            units.remove(unit);
            if units.is_empty() {
                self.conveyance_units.remove(&conveyance);
                self.drop_conveyance_if_unreachable(&conveyance, dropped);
            }
        }
    }

    pub(super) fn drop_conveyance_if_unreachable(
        &mut self,
        conveyance: &str,
        dropped: &mut Vec<Arc<Event>>,
    ) {
        if self.conveyance_units.contains_key(conveyance)
            || self.flight_shipments.contains_key(conveyance)
        {
            return;
        }
        self.drop_retractions(conveyance, dropped);
        for event in self
            .conveyance_events
            .remove(conveyance)
            .unwrap_or_default()
        {
            self.versions.remove(&event.source, &event.event_id);
            dropped.push(event);
        }
    }
}
