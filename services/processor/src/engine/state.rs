//! The engine as plain data, and back: what a local checkpoint keeps of it.

use super::*;

/// Everything an [`Engine`] holds, as plain data: what a local checkpoint keeps
/// ([`crate::checkpoint`]). The indexes are not in it: [`Engine::from_state`] builds them again
/// from the events; the relations are, because [`Engine::link`] adds to them what no event held
/// here says (the links of shipments owned elsewhere).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineState {
    /// Every counted version, retracted ones included.
    pub events: Vec<Arc<Event>>,
    /// Shipment → units, unit → conveyances, shipment → flights (the reverse ways follow).
    pub shipment_units: Vec<(String, Vec<String>)>,
    pub unit_conveyances: Vec<(String, Vec<String>)>,
    pub shipment_flights: Vec<(String, Vec<String>)>,
    pub reach: Vec<(String, i64)>,
    /// The earliest own event time of shipments as their links records tell it.
    pub link_floors: Vec<(String, i64)>,
    /// Forgotten shipments with their finish (`i64::MIN`: not known).
    pub forgotten: Vec<(String, i64)>,
    pub watermark_millis: i64,
    /// Finished shipments' own events as blocks of the park ([`crate::park`]), not decoded.
    pub parked: Vec<ParkedBlock>,
}

impl EngineState {
    /// The same state in one order (events by identity, everything else by name), so that two
    /// states can be compared.
    pub fn sorted(mut self) -> Self {
        self.events
            .sort_by(|a, b| (&*a.source, &a.event_id).cmp(&(&*b.source, &b.event_id)));
        self.shipment_units.sort();
        self.unit_conveyances.sort();
        self.shipment_flights.sort();
        self.reach.sort();
        self.link_floors.sort();
        self.forgotten.sort();
        self.parked.sort();
        self
    }
}

pub(super) fn relation_pairs(relation: &Relation) -> Vec<(String, Vec<String>)> {
    relation
        .iter()
        .filter(|(_, to)| !to.is_empty())
        .map(|(from, to)| (from.to_string(), to.iter().map(Id::to_string).collect()))
        .collect()
}

impl Engine {
    /// What the engine holds, for a checkpoint.
    pub fn state(&self) -> EngineState {
        EngineState {
            events: self
                .versions
                .iter()
                .cloned()
                .chain(self.spill.read_all().into_iter().map(Arc::new))
                .collect(),
            shipment_units: relation_pairs(&self.shipment_units),
            unit_conveyances: relation_pairs(&self.unit_conveyances),
            shipment_flights: relation_pairs(&self.shipment_flights),
            reach: self
                .reach
                .iter()
                .map(|(id, r)| (id.to_string(), *r))
                .collect(),
            link_floors: self
                .link_floors
                .iter()
                .map(|(id, floor)| (id.to_string(), *floor))
                .collect(),
            forgotten: (self.forgotten.iter())
                .map(|(id, finish)| (id.to_string(), *finish))
                .collect(),
            watermark_millis: self.watermark_millis,
            parked: self.park.blocks(),
        }
    }

    /// The engine [`Engine::state`] was taken from: the same events, relations and clocks, with
    /// the indexes built again (no shipment is derived), its scratch files in the system's
    /// temporary directory.
    pub fn from_state(state: EngineState) -> Self {
        Engine::from_state_in(state, &std::env::temp_dir())
    }

    /// [`Engine::from_state`] with the spill and park files made in `scratch_dir`. The parked
    /// blocks are written back to the park as they are, not decoded.
    pub fn from_state_in(mut state: EngineState, scratch_dir: &std::path::Path) -> Self {
        let mut engine = Engine::new();
        engine.scratch_in(scratch_dir);
        for event in &mut state.events {
            // a checkpoint is decoded on several threads, each with its own copies of the places
            if let Some(event) = Arc::get_mut(event) {
                engine.shared.share(event);
            }
        }
        // the versions on one core, the indexes on another, the park's file beside them: a
        // restart waits for all three
        let mut versions = Versions::default();
        let mut park = Park::in_dir(scratch_dir);
        let parked = std::thread::scope(|scope| {
            scope.spawn(|| {
                versions.reserve(state.events.len());
                for event in &state.events {
                    versions.restore(event.clone());
                }
            });
            let parked = scope.spawn(|| park.restore(&state.parked));
            for event in &state.events {
                match event.retracted {
                    false => engine.index(event),
                    true => push(&mut engine.retractions, home_of(event), event),
                }
            }
            parked.join().expect("writing the park does not panic")
        });
        engine.versions = versions;
        engine.park = park;
        if let Err(error) = parked {
            tracing::warn!(%error, "cannot write the park file; finished shipments stay in memory");
            engine.park_failed = true;
            for block in &state.parked {
                engine.restore_unparked(decode_block(&block.events));
            }
        }
        relate_all(
            state.shipment_units,
            &mut engine.shipment_units,
            &mut engine.unit_shipments,
        );
        relate_all(
            state.unit_conveyances,
            &mut engine.unit_conveyances,
            &mut engine.conveyance_units,
        );
        relate_all(
            state.shipment_flights,
            &mut engine.shipment_flights,
            &mut engine.flight_shipments,
        );
        engine.reach = state
            .reach
            .into_iter()
            .map(|(id, r)| (id.into(), r))
            .collect();
        engine.link_floors = (state.link_floors.into_iter())
            .map(|(id, floor)| (id.into(), floor))
            .collect();
        engine.forgotten = (state.forgotten.into_iter())
            .map(|(id, finish)| (id.into(), finish))
            .collect();
        engine.watermark_millis = state.watermark_millis;
        engine.unsettled = engine.unit_events.keys().cloned().collect();
        engine
    }
}
