//! Which container history the engine keeps in memory and which it spills to its scratch file:
//! the floor each owned shipment needs, and history brought back when a window reaches it.

use super::*;

/// What of a unit's history is held in memory while the rest is spilled: every STUF and STRP,
/// every actual LOAD and DISC onto or off a conveyance at or after `moves_from`, and every event
/// at or after `all_from` (`moves_from <= all_from`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Residency {
    /// Unix ms.
    pub(super) moves_from: i64,
    /// Unix ms.
    pub(super) all_from: i64,
    /// A window start for which what is held is known to be enough: a window starting there or
    /// later reads nothing spilled (so deriving its shipment needs no look at the spill). Reset
    /// when one of the unit's actual LOADs comes or goes, which moves what a window reads.
    pub(super) checked: Option<i64>,
}

impl Residency {
    /// Whether an event of the unit is held in memory under this residency.
    pub(super) fn holds(&self, event: &Event) -> bool {
        let millis = event.event_time.unix_millis();
        always_resident(event)
            || millis >= self.all_from
            || (millis >= self.moves_from && is_actual_move(event))
    }
}

impl Engine {
    /// Spills an arriving equipment event dated before what its unit holds in memory (it cannot
    /// concern an owned shipment); whether it did.
    pub(super) fn spill_on_arrival(&mut self, event: &Arc<Event>) -> bool {
        if self.residency.is_empty() || always_resident(event) {
            return false;
        }
        let Body::Equipment(body) = &event.body else {
            return false;
        };
        let unit = body.equipment_reference.as_str();
        let Some(residency) = self.residency.get(unit) else {
            return false;
        };
        if residency.holds(event) || !self.put_in_spill(unit, event) {
            return false;
        }
        // related to its conveyance all the same: the trim lets go of a train's events when no
        // unit's history names the train any more, and a spilled LOAD names it too (without
        // this a train whose LOAD was spilled on arrival kept its events for ever)
        if let Body::Equipment(EquipmentBody {
            transport: Some(transport),
            equipment_reference,
            ..
        }) = &event.body
        {
            relate(
                &mut self.unit_conveyances,
                &mut self.conveyance_units,
                equipment_reference,
                &transport.reference,
            );
        }
        self.versions.remove(&event.source, &event.event_id);
        self.loads_changed(event);
        true
    }

    /// Whether this engine derives some shipments only, and so spills what the others need.
    pub(super) fn splits(&self) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|owner| (owner.owned.len() as i32) < owner.partitions)
    }

    pub(super) fn put_in_spill(&mut self, unit: &str, event: &Event) -> bool {
        match self
            .spill
            .put(unit, event, is_actual_load(event), is_actual_move(event))
        {
            Ok(()) => true,
            Err(error) => {
                if !std::mem::replace(&mut self.spill_failed, true) {
                    tracing::warn!(%error, "cannot write the spill file; container events stay in memory");
                }
                false
            }
        }
    }

    /// Where the spill and park files are made (by default the system's temporary directory);
    /// each only before anything is in it.
    pub fn scratch_in(&mut self, dir: &std::path::Path) {
        if self.spill.is_empty() {
            self.spill = Spill::in_dir(dir);
        }
        if self.park.is_empty() {
            self.park = Park::in_dir(dir);
        }
    }

    /// The earliest time at which `unit` can concern `shipment_id`, given the earliest time of
    /// the shipment's own events (`direct_floor`): a booking interval starts at a booking, a
    /// stuffing interval at a STUF naming it; `i64::MAX` when neither exists.
    pub(super) fn floor_on(&self, shipment_id: &str, direct_floor: i64, unit: &str) -> i64 {
        let named = self
            .unit_events
            .get(unit)
            .into_iter()
            .flatten()
            .filter(|event| stuffs(event, shipment_id))
            .map(|event| event.event_time.unix_millis())
            .min()
            .unwrap_or(i64::MAX);
        direct_floor.min(named)
    }

    pub(super) fn direct_floor(&self, shipment_id: &str) -> i64 {
        if let Some(floor) = self.park.floor(shipment_id) {
            return floor;
        }
        self.direct
            .get(shipment_id)
            .into_iter()
            .flatten()
            .map(|event| event.event_time.unix_millis())
            .min()
            .unwrap_or(i64::MAX)
    }

    /// From when the events of `unit` must be in memory for windows starting at `floor` or
    /// later: rule 4 looks back to the latest actual LOAD at or before a window's start (held or
    /// spilled), nothing earlier concerns them.
    pub(super) fn needed_from(&self, unit: &str, floor: i64) -> i64 {
        if floor == i64::MAX {
            return i64::MAX;
        }
        let held = self
            .unit_events
            .get(unit)
            .into_iter()
            .flatten()
            .filter(|event| is_actual_load(event))
            .map(|event| event.event_time.unix_millis())
            .filter(|millis| *millis <= floor);
        let spilled = self
            .spill
            .of_unit(unit)
            .iter()
            .filter(|spilled| spilled.actual_load && spilled.millis <= floor)
            .map(|spilled| spilled.millis);
        held.chain(spilled).max().unwrap_or(floor)
    }

    /// Brings back from the spill what deriving `shipment_id` reads: every unit it may be linked
    /// to from its floor on.
    pub(super) fn bring_back_for(&mut self, shipment_id: &str) {
        if self.spill.is_empty() {
            return;
        }
        let units: Vec<Id> = self
            .shipment_units
            .get(shipment_id)
            .into_iter()
            .flatten()
            .filter(|unit| !self.spill.of_unit(unit).is_empty())
            .cloned()
            .collect();
        if units.is_empty() {
            return;
        }
        let direct_floor = self.direct_floor(shipment_id);
        for unit in units {
            let floor = self.floor_on(shipment_id, direct_floor, &unit);
            let checked = self.residency.get(&unit).and_then(|r| r.checked);
            if checked.is_some_and(|checked| floor >= checked) {
                continue;
            }
            self.bring_back(&unit, self.needed_from(&unit, floor), floor);
            if let Some(residency) = self.residency.get_mut(&unit) {
                residency.checked = Some(floor);
            }
        }
    }

    /// Brings back what a window starting at `all_from` reads: its moves from `moves_from` on
    /// (see [`Engine::needed_from`]), everything from `all_from` on.
    pub(super) fn bring_back(&mut self, unit: &str, moves_from: i64, all_from: i64) {
        let Some(residency) = self.residency.get_mut(unit) else {
            return;
        };
        if residency.moves_from <= moves_from && residency.all_from <= all_from {
            return;
        }
        residency.moves_from = residency.moves_from.min(moves_from);
        residency.all_from = residency.all_from.min(all_from);
        let back = self.spill.take_unit_where(unit, |spilled| {
            spilled.millis >= all_from || (spilled.millis >= moves_from && spilled.actual_move)
        });
        for mut event in back {
            self.shared.share(&mut event);
            let event = Arc::new(event);
            self.versions.restore(event.clone());
            self.index(&event);
        }
    }

    /// Moves to the spill the container history no owned shipment needs now: for each unit
    /// whose windows may have moved on (its shipments forgotten or released, the owner changed,
    /// the unit new, a shipment parked), every event before the earliest start of the window on
    /// it of an owned shipment not parked — all of it when there is none: a parked shipment is
    /// finished, and seldom derived again — except STUF/STRP, and the actual
    /// LOADs and DISCs from the latest actual LOAD at or before that start. Deriving an owned
    /// shipment never reads the others (STATUS.md rules 3–4: windows start at a booking or a
    /// STUF; before its start rule 4 reads only the latest LOAD and the DISCs after it), and
    /// [`Engine::refresh`] brings them back first when a window reaches them again.
    ///
    /// Only an engine that derives some of the shipments spills (see [`Engine::set_owner`]):
    /// with two instances each holds about half the container history instead of all of it,
    /// while an instance owning every shipment needs nearly all of it (only the history before
    /// every current window, a small share in the bench's mix, which is not worth the look at the
    /// spill every derivation then takes).
    pub fn spill_unneeded(&mut self) {
        if self.deferred.is_some() || !self.splits() {
            self.unsettled.clear();
            return;
        }
        for unit in std::mem::take(&mut self.unsettled) {
            if !self.unit_events.contains_key(&unit) && self.spill.of_unit(&unit).is_empty() {
                self.residency.remove(&unit);
                continue;
            }
            let floor = self
                .unit_shipments
                .get(&unit)
                .into_iter()
                .flatten()
                // a parked shipment is finished: its derivation brings back what it reads
                .filter(|shipment| self.owns(shipment) && !self.park.holds(shipment))
                .map(|shipment| self.floor_on(shipment, self.direct_floor(shipment), &unit))
                .min()
                .unwrap_or(i64::MAX);
            let target = Residency {
                moves_from: self.needed_from(&unit, floor),
                all_from: floor,
                checked: Some(floor),
            };
            // what the owned windows read now that is spilled (a LOAD retracted since) first
            self.bring_back(&unit, target.moves_from, target.all_from);
            if self.residency.get(&unit).is_some_and(|held| {
                held.moves_from >= target.moves_from && held.all_from >= target.all_from
            }) {
                continue;
            }
            self.residency.insert(unit.clone(), target);
            let Some(events) = self.unit_events.remove(&unit) else {
                continue;
            };
            let mut kept = Vec::with_capacity(events.len());
            for event in events {
                if !target.holds(&event) && self.put_in_spill(&unit, &event) {
                    self.versions.remove(&event.source, &event.event_id);
                } else {
                    kept.push(event);
                }
            }
            if !kept.is_empty() {
                self.unit_events.insert(unit, kept);
            }
        }
    }

    /// How far back any window of `shipment_id` on `unit` can start, as far as this instance
    /// knows: its own events' earliest time (held here, or told by its links record) and any
    /// STUF naming it; `i64::MIN` when that is unknown.
    pub(super) fn known_floor_on(&self, shipment_id: &str, unit: &str) -> i64 {
        let direct = match self.holds_direct(shipment_id) {
            true => self.direct_floor(shipment_id),
            false => self
                .link_floors
                .get(shipment_id)
                .copied()
                .unwrap_or(i64::MIN),
        };
        self.floor_on(shipment_id, direct, unit)
    }

    /// Equipment events spilled to local disk (not in [`Engine::events_held`]).
    pub fn events_spilled(&self) -> usize {
        self.spill.len()
    }
}
