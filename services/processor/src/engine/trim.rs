//! Trimming container history that no shipment can reach any more, past the horizon.

use super::*;

impl Engine {
    /// The retention rule for container history: a container in constant use is always linked
    /// to some remembered shipment, so forgetting shipments alone would keep its history for
    /// ever. Lets go of every equipment event dated before both `horizon_millis` (the retention
    /// clock: the watermark less the retention period) and the latest actual LOAD at or before
    /// the earliest window of a remembered shipment linked to its unit (see
    /// [`Engine::spill_unneeded`] for why nothing earlier concerns them), held or spilled,
    /// retracted winners included; and of a unit's relation to the conveyances none of its
    /// remaining events names, so that a train's events go when no unit's history reaches it.
    /// Only a shipment whose window would start before the horizon, one booked more than the
    /// retention period late, could have needed what went. A conveyance's events no unit and no
    /// shipment reaches go once all of them are older than the horizon. Returns what it let go of.
    pub fn trim_history(&mut self, horizon_millis: i64) -> Vec<Arc<Event>> {
        let mut dropped = Vec::new();
        if self.deferred.is_some() {
            return dropped;
        }
        // a unit with nothing older than the horizon has nothing to let go of, whatever its
        // windows
        let old = |millis: i64| millis < horizon_millis;
        // (the retractions are indexed by shipment and conveyance too: only a unit's count)
        let held_old = |events: &Vec<Arc<Event>>| {
            events.iter().any(|event| {
                matches!(event.body, Body::Equipment(_)) && old(event.event_time.unix_millis())
            })
        };
        let mut units: Vec<Id> = self
            .unit_events
            .iter()
            .chain(self.retractions.iter())
            .filter(|(_, events)| held_old(events))
            .map(|(unit, _)| unit.clone())
            .collect();
        units.extend(
            self.spill
                .units()
                .filter(|unit| self.spill.of_unit(unit).iter().any(|s| old(s.millis)))
                .map(|unit| Id::from(unit.as_str())),
        );
        units.sort_unstable();
        units.dedup();
        for unit in units {
            let dropped_before = dropped.len();
            let floor = self
                .unit_shipments
                .get(&unit)
                .into_iter()
                .flatten()
                .map(|shipment| self.known_floor_on(shipment, &unit))
                .min()
                .unwrap_or(i64::MAX);
            let cut = self.needed_from(&unit, floor).min(horizon_millis);
            let before = |event: &Arc<Event>| event.event_time.unix_millis() < cut;
            if let Some(events) = self.unit_events.get_mut(&unit) {
                if events.iter().any(before) {
                    let (old, kept): (Vec<_>, Vec<_>) = events.drain(..).partition(before);
                    *events = kept;
                    for event in old {
                        self.versions.remove(&event.source, &event.event_id);
                        dropped.push(event);
                    }
                }
            }
            dropped.extend(
                self.spill
                    .take_unit_before(&unit, cut)
                    .into_iter()
                    .map(Arc::new),
            );
            if let Some(retracted) = self.retractions.get_mut(&unit) {
                let (old, kept): (Vec<_>, Vec<_>) = retracted.drain(..).partition(before);
                *retracted = kept;
                for event in old {
                    let winner = self.versions.get(&event);
                    if winner.is_some_and(|winner| Arc::ptr_eq(winner, &event)) {
                        self.versions.remove(&event.source, &event.event_id);
                        dropped.push(event);
                    }
                }
            }
            if dropped.len() > dropped_before {
                self.drop_unnamed_conveyances(&unit, &mut dropped);
            }
            if self
                .unit_events
                .get(&unit)
                .is_some_and(|events| events.is_empty())
            {
                self.unit_events.remove(&unit);
            }
            if !self.unit_events.contains_key(&unit) && self.spill.of_unit(&unit).is_empty() {
                self.residency.remove(&unit);
            }
        }
        // a conveyance no unit's history and no shipment reaches — a train none of the hub's
        // containers was loaded onto, a flight no AWB names — was let go of only when a unit or a
        // shipment stopped reaching it, so it stayed for ever: it goes once all of it is older
        // than the horizon (a LOAD onto it arriving later would date a window before the horizon)
        let unreached: Vec<Id> = (self.conveyance_events.iter())
            .filter(|(conveyance, events)| {
                !self.conveyance_units.contains_key(*conveyance)
                    && !self.flight_shipments.contains_key(*conveyance)
                    && events.iter().all(|e| old(e.event_time.unix_millis()))
            })
            .map(|(conveyance, _)| conveyance.clone())
            .collect();
        for conveyance in unreached {
            let before = dropped.len();
            self.drop_conveyance_if_unreachable(&conveyance, &mut dropped);
            self.unreached.extend(dropped[before..].iter().cloned());
        }
        dropped
    }

    /// The conveyance events the trim let go of that nothing had reached since the last call:
    /// late data, which the runner dead-letters.
    pub fn take_unreached(&mut self) -> Vec<Arc<Event>> {
        std::mem::take(&mut self.unreached)
    }

    /// Unrelates `unit` from the conveyances none of its events (held or spilled, read back)
    /// names any more, dropping a conveyance's events once no unit and no flight reaches it.
    pub(super) fn drop_unnamed_conveyances(&mut self, unit: &str, dropped: &mut Vec<Arc<Event>>) {
        let Some(related) = self.unit_conveyances.get(unit) else {
            return;
        };
        let spilled = self.spill.read_unit(unit);
        let named: BTreeSet<&str> = self
            .unit_events
            .get(unit)
            .into_iter()
            .flatten()
            .map(|event| event.as_ref())
            .chain(&spilled)
            .filter_map(|event| match &event.body {
                Body::Equipment(EquipmentBody {
                    transport: Some(transport),
                    ..
                }) => Some(transport.reference.as_str()),
                _ => None,
            })
            .collect();
        let unnamed: Vec<Id> = related
            .iter()
            .filter(|conveyance| !named.contains(conveyance.as_str()))
            .cloned()
            .collect();
        for conveyance in unnamed {
            if let Some(conveyances) = self.unit_conveyances.get_mut(unit) {
                conveyances.remove(&conveyance);
                if conveyances.is_empty() {
                    self.unit_conveyances.remove(unit);
                }
            }
            if let Some(units) = self.conveyance_units.get_mut(&conveyance) {
                units.remove(unit);
                if units.is_empty() {
                    self.conveyance_units.remove(&conveyance);
                    self.drop_conveyance_if_unreachable(&conveyance, dropped);
                }
            }
        }
    }
}
