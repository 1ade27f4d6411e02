//! The streaming implementation: events arrive one at a time, in any order, any number of times;
//! the engine keeps the counted version of each, indexes them by shipment, unit and conveyance,
//! and tells which shipments an arrival may have changed. Recomputing those shipments from the
//! indexes gives exactly what the reference gives for the same set of events — late links
//! included, because a link arriving late marks every shipment it touches as affected.

use crate::affected::Affected;
use crate::belonging::{belonging_and_reach, Candidates};
use crate::derive::derive_ref;
use crate::names::Names;
use crate::park::{decode_block, Park, ParkedBlock};
use crate::reference::{direct_subject, is_stuffing};
use crate::spill::Spill;
use crate::versions::{supersedes, Offer, Versions};
use kouan_bus::partitioner::partition_of;
use kouan_model::*;
use kouan_model::{EncodedStatus, Status, StatusRef};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The engine's maps hash with foldhash (seeded per process): with SipHash, std's default, over
/// these short string keys the core's criterion bench ran 140,700 events/s, with foldhash 154,500.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

type Index = HashMap<Id, Vec<Arc<Event>>>;

/// How far an actual event may be dated after its recording and still move the watermark: the
/// 24 hours EVENTS.md tolerates between an actual event and its `recordedTime`.
pub const WATERMARK_TOLERANCE_MILLIS: i64 = 24 * 3_600_000;

/// How far in event time an event recorded (by Kafka, say) at `recorded_millis` tells that its
/// source has got: an actual event's time, but no later than its source's recording of it (an
/// event recorded before it happened — a clock ahead, a time zone mislabelled — tells that the
/// source has got as far as its recording, no further); nothing for a planned or estimated event,
/// or for one dated more than [`WATERMARK_TOLERANCE_MILLIS`] after its recording, so that one
/// event from a source with a wrong clock cannot make retention forget every finished shipment at
/// once.
pub fn reported_millis(event: &Event, recorded_millis: i64) -> Option<i64> {
    let event_millis = event.event_time.unix_millis();
    (event.classifier() == Classifier::Act
        && event_millis <= recorded_millis.saturating_add(WATERMARK_TOLERANCE_MILLIS))
    .then(|| event_millis.min(event.recorded_time().unix_millis()))
}
type Relation = HashMap<Id, Names>;

/// A shipment's record as [`Engine::refresh_encoded`] derives it for the runner.
#[derive(Debug)]
pub struct Refreshed {
    /// The record's content encoded, with the digest compared with the published one's.
    pub encoded: EncodedStatus,
    /// When it finished (delivered or cancelled), for the retention rule.
    pub finish_millis: Option<i64>,
}

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
    pub forgotten: Vec<String>,
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

fn relation_pairs(relation: &Relation) -> Vec<(String, Vec<String>)> {
    relation
        .iter()
        .filter(|(_, to)| !to.is_empty())
        .map(|(from, to)| (from.to_string(), to.iter().map(Id::to_string).collect()))
        .collect()
}

#[derive(Debug, Default)]
pub struct Engine {
    versions: Versions,
    /// `shipment`, `air` and `customs` events by the shipment they name.
    direct: Index,
    /// Equipment events by unit.
    unit_events: Index,
    /// Transport events by conveyance reference.
    conveyance_events: Index,
    /// Retracted winners by what they would be indexed under (shipment, unit or conveyance), so
    /// that they are let go of with it; an entry whose event is no longer the winner is skipped.
    retractions: Index,
    /// Units that may be linked to a shipment (from its bookings and STUF/STRP naming it), both
    /// ways; a superset is harmless since the link rules themselves decide.
    shipment_units: Relation,
    unit_shipments: Relation,
    /// Conveyances a unit was loaded onto or discharged from, both ways.
    unit_conveyances: Relation,
    conveyance_units: Relation,
    /// Flights an AWB has air events on, both ways.
    shipment_flights: Relation,
    flight_shipments: Relation,
    /// How far in event time each refreshed shipment's unit links reach (see
    /// [`crate::belonging::belonging_and_reach`]); shipments not in here count as reaching
    /// everywhere.
    reach: HashMap<Id, i64>,
    /// Shipments let go under the retention rule: their later events are ignored.
    forgotten: HashSet<Id>,
    /// Latest ACT event time seen: the clock of the retention rule.
    watermark_millis: i64,
    /// While a restore reads the shared table ([`Engine::defer_unreachable`]): the units and
    /// conveyances a forgotten shipment left unreached, judged only once every link is read.
    deferred: Option<Orphans>,
    /// One copy of each place and source the held events name, shared by all of them.
    shared: Shared,
    /// Whose shipments this engine derives; `None`: every shipment's.
    owner: Option<Owner>,
    /// Equipment events no owned shipment needs now, on local disk ([`Engine::spill_unneeded`]).
    spill: Spill,
    /// Per unit with spilled history, what of it is held in memory. A unit not in here has
    /// nothing spilled and spills nothing on arrival.
    residency: HashMap<Id, Residency>,
    /// Units whose owned windows may have moved on since the last [`Engine::spill_unneeded`].
    unsettled: HashSet<Id>,
    /// Whether writing to the spill failed once (logged once; the events stay in memory).
    spill_failed: bool,
    /// Finished shipments' own events, on local disk (see [`Engine::refresh`]).
    park: Park,
    /// Whether writing to the park failed once (logged once; the events stay in memory).
    park_failed: bool,
    /// The earliest own event time of shipments owned elsewhere, from their links records:
    /// how far back their windows can reach ([`Engine::trim_history`]).
    link_floors: HashMap<Id, i64>,
}

/// What of a unit's history is held in memory while the rest is spilled: every STUF and STRP,
/// every actual LOAD and DISC onto or off a conveyance at or after `moves_from`, and every event
/// at or after `all_from` (`moves_from <= all_from`).
#[derive(Debug, Clone, Copy)]
struct Residency {
    /// Unix ms.
    moves_from: i64,
    /// Unix ms.
    all_from: i64,
    /// A window start for which what is held is known to be enough: a window starting there or
    /// later reads nothing spilled (so deriving its shipment needs no look at the spill). Reset
    /// when one of the unit's actual LOADs comes or goes, which moves what a window reads.
    checked: Option<i64>,
}

impl Residency {
    /// Whether an event of the unit is held in memory under this residency.
    fn holds(&self, event: &Event) -> bool {
        let millis = event.event_time.unix_millis();
        always_resident(event)
            || millis >= self.all_from
            || (millis >= self.moves_from && is_actual_move(event))
    }
}

/// The shipments an instance owns: those of the partitions the consumer group gave it, by the
/// partition of their id in `kouan.internal.by-shipment` (murmur2, as the router writes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub partitions: i32,
    pub owned: BTreeSet<i32>,
}

impl Owner {
    pub fn owns(&self, shipment_id: &str) -> bool {
        self.owned
            .contains(&partition_of(shipment_id.as_bytes(), self.partitions))
    }
}

/// A LOAD that rule 4 looks at: actual, onto a conveyance.
fn is_actual_load(event: &Event) -> bool {
    event.classifier() == Classifier::Act
        && matches!(
            &event.body,
            Body::Equipment(EquipmentBody {
                kind: EquipmentEventType::Load,
                transport: Some(_),
                ..
            })
        )
}

/// A LOAD or DISC that rule 4 looks at: actual, onto or off a conveyance. Before a window's start
/// rule 4 reads only these (the latest LOAD at or before it, and the DISCs since).
fn is_actual_move(event: &Event) -> bool {
    event.classifier() == Classifier::Act
        && matches!(
            &event.body,
            Body::Equipment(EquipmentBody {
                kind: EquipmentEventType::Load | EquipmentEventType::Disc,
                transport: Some(_),
                ..
            })
        )
}

/// Whether an equipment event names `shipment_id` in a STUF or STRP.
fn stuffs(event: &Event, shipment_id: &str) -> bool {
    matches!(&event.body, Body::Equipment(body)
        if is_stuffing(body) && body.shipment_ids.iter().any(|id| id == shipment_id))
}

fn always_resident(event: &Event) -> bool {
    matches!(&event.body, Body::Equipment(body) if is_stuffing(body))
}

/// Units and flights no shipment read so far reaches.
#[derive(Debug, Default)]
struct Orphans {
    units: HashSet<Id>,
    flights: HashSet<Id>,
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Decodes one record value ([`kouan_model::protobuf::decode_event`]), its place and source
    /// the copies this engine holds: decoding allocates neither.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Event, Reject> {
        kouan_model::protobuf::decode_event_shared(bytes, &mut self.shared)
    }

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
            forgotten: self.forgotten.iter().map(Id::to_string).collect(),
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
        engine.forgotten = state.forgotten.into_iter().map(Id::from).collect();
        engine.watermark_millis = state.watermark_millis;
        engine.unsettled = engine.unit_events.keys().cloned().collect();
        engine
    }

    /// Takes one valid event; adds to `affected` every shipment whose status may have changed.
    pub fn apply(&mut self, event: Event, affected: &mut impl Affected) {
        let recorded = event.recorded_time().unix_millis();
        self.apply_recorded(event, recorded, affected);
    }

    /// [`Engine::apply`] for an event recorded (by Kafka, say) at `recorded_millis`; returns the
    /// event time it reports (see [`reported_millis`]), which moved the watermark.
    pub fn apply_recorded(
        &mut self,
        event: Event,
        recorded_millis: i64,
        affected: &mut impl Affected,
    ) -> Option<i64> {
        if direct_subject(&event).is_some_and(|id| self.forgotten.contains(id)) {
            return None;
        }
        let reported = reported_millis(&event, recorded_millis);
        if let Some(reported) = reported {
            self.watermark_millis = self.watermark_millis.max(reported);
        }
        self.offer(event, affected);
        reported
    }

    fn offer(&mut self, mut event: Event, affected: &mut impl Affected) {
        self.shared.share(&mut event);
        // a finished shipment's events may be parked: a new event of its own is added to them
        // there (most are a customs closure after the delivery); another version of one of them
        // brings them back into memory, unless it is a version already counted
        if let Some(subject) = direct_subject(&event).filter(|id| self.park.holds(id)) {
            let subject = Id::from(subject);
            if !event.retracted
                && self.versions.get(&event).is_none()
                && self.park.add_new(&subject, &event).unwrap_or(false)
            {
                self.relate_own(&event);
                affected.mark(&subject);
                return;
            }
            let parked = self.park.events(&subject).unwrap_or_default();
            let held = parked
                .iter()
                .find(|held| held.source == event.source && held.event_id == event.event_id);
            if !held.is_none_or(|held| supersedes(&event, held)) {
                return;
            }
            self.park.discard(&subject);
            self.restore_unparked(parked);
        }
        // the counted version may be spilled (never a retracted one: those stay in memory)
        let mut spilled_previous = None;
        if let Some(held) = (!self.spill.is_empty())
            .then(|| self.spill.get(&event.source, &event.event_id))
            .flatten()
        {
            if !supersedes(&event, &held) {
                return;
            }
            self.spill.discard(&held);
            spilled_previous = Some(held);
        }
        let Offer::Changed {
            previous,
            current,
            retraction,
        } = self.versions.offer(event)
        else {
            return;
        };
        if let Some(retraction) = retraction {
            push(&mut self.retractions, home_of(&retraction), &retraction);
        }
        if let Some(previous) = previous {
            self.unindex(&previous);
            self.affected_by(&previous, affected);
        }
        if let Some(previous) = spilled_previous {
            self.loads_changed(&previous);
            self.affected_by(&previous, affected);
        }
        if let Some(current) = current {
            if !self.spill_on_arrival(&current) {
                self.index(&current);
            }
            self.affected_by(&current, affected);
        }
    }

    /// Spills an arriving equipment event dated before what its unit holds in memory (it cannot
    /// concern an owned shipment); whether it did.
    fn spill_on_arrival(&mut self, event: &Arc<Event>) -> bool {
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

    /// Forgets what was checked about the windows of `event`'s unit if it is an actual LOAD
    /// (see [`Residency::checked`]).
    fn loads_changed(&mut self, event: &Event) {
        if self.residency.is_empty() || !is_actual_load(event) {
            return;
        }
        if let Some(residency) = self.residency.get_mut(home_of(event)) {
            residency.checked = None;
        }
    }

    /// The parked version of `event`'s (`source`, `eventId`), if its shipment is parked: a
    /// version of a shipment's own event is looked for among that shipment's events (a
    /// correction naming another shipment is routed, and counted, as that shipment's event).
    fn parked_version(&self, event: &Event) -> Option<Event> {
        let subject = direct_subject(event).filter(|id| self.park.holds(id))?;
        self.park
            .events(subject)?
            .into_iter()
            .find(|held| held.source == event.source && held.event_id == event.event_id)
    }

    /// Brings a parked shipment's events back into memory.
    fn unpark(&mut self, shipment_id: &str) {
        let events = self.park.take(shipment_id).unwrap_or_default();
        self.restore_unparked(events);
    }

    /// Holds in memory again events read from the park.
    fn restore_unparked(&mut self, events: Vec<Event>) {
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
    fn park(&mut self, shipment_id: &str) {
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
    fn settle_units_of_parked(&mut self, shipment_id: &str) {
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

    /// Whether this engine derives some shipments only, and so spills what the others need.
    fn splits(&self) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|owner| (owner.owned.len() as i32) < owner.partitions)
    }

    fn put_in_spill(&mut self, unit: &str, event: &Event) -> bool {
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

    /// Makes this engine derive only `owner`'s shipments (`None`: all), so that it holds in
    /// memory only the container history they need (see [`Engine::spill_unneeded`]).
    pub fn set_owner(&mut self, owner: Option<Owner>) {
        if self.owner != owner {
            self.owner = owner;
            self.unsettled.extend(self.unit_events.keys().cloned());
            self.unsettled.extend(self.residency.keys().cloned());
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

    /// Whether this engine derives `shipment_id` (see [`Engine::set_owner`]).
    pub fn owns(&self, shipment_id: &str) -> bool {
        self.owner
            .as_ref()
            .is_none_or(|owner| owner.owns(shipment_id))
    }

    /// The earliest time at which `unit` can concern `shipment_id`, given the earliest time of
    /// the shipment's own events (`direct_floor`): a booking interval starts at a booking, a
    /// stuffing interval at a STUF naming it; `i64::MAX` when neither exists.
    fn floor_on(&self, shipment_id: &str, direct_floor: i64, unit: &str) -> i64 {
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

    fn direct_floor(&self, shipment_id: &str) -> i64 {
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
    fn needed_from(&self, unit: &str, floor: i64) -> i64 {
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
    fn bring_back_for(&mut self, shipment_id: &str) {
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
    fn bring_back(&mut self, unit: &str, moves_from: i64, all_from: i64) {
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
    /// every current window, some 6% in the bench's mix, which is not worth the look at the
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
    fn known_floor_on(&self, shipment_id: &str, unit: &str) -> i64 {
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
                self.forget_unnamed_conveyances(&unit, &mut dropped);
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
            self.drop_conveyance_if_unreachable(&conveyance, &mut dropped);
        }
        dropped
    }

    /// Unrelates `unit` from the conveyances none of its events (held or spilled, read back)
    /// names any more, dropping a conveyance's events once no unit and no flight reaches it.
    fn forget_unnamed_conveyances(&mut self, unit: &str, dropped: &mut Vec<Arc<Event>>) {
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

    /// Equipment events spilled to local disk (not in [`Engine::events_held`]).
    pub fn events_spilled(&self) -> usize {
        self.spill.len()
    }

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

    fn refresh_with<R>(
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

    fn derive_with_reach<R>(
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

    /// Every shipment the engine has heard of (some may have no counted event left).
    pub fn shipments(&self) -> impl Iterator<Item = &Id> {
        self.direct.keys().chain(self.park.shipments()).chain(
            self.shipment_units
                .keys()
                .filter(|id| !self.direct.contains_key(*id) && !self.park.holds(id)),
        )
    }

    /// Events held in memory (every version that counts or voids, retractions included; not
    /// the spilled ones).
    pub fn events_held(&self) -> usize {
        self.versions.len()
    }

    pub fn watermark_millis(&self) -> i64 {
        self.watermark_millis
    }

    /// Whether offering `event` would change the counted version of its (`source`, `eventId`):
    /// false for a redelivery or an older version.
    pub fn is_news(&self, event: &Event) -> bool {
        if direct_subject(event).is_some_and(|id| self.forgotten.contains(id)) {
            return false;
        }
        match self.versions.get(event) {
            Some(held) => supersedes(event, held),
            None => self
                .parked_version(event)
                .or_else(|| self.spill.get(&event.source, &event.event_id))
                .is_none_or(|held| supersedes(event, &held)),
        }
    }

    /// The counted version of `event`'s (`source`, `eventId`), retracted or not (read back if
    /// spilled).
    pub fn winner_of(&self, event: &Event) -> Option<Arc<Event>> {
        self.versions.get(event).cloned().or_else(|| {
            self.parked_version(event)
                .or_else(|| self.spill.get(&event.source, &event.event_id))
                .map(Arc::new)
        })
    }

    /// Whether the engine holds any `shipment`, `air` or `customs` event of `shipment_id`: a
    /// finished record needs one (a booking, a cancellation or a delivery), so a shipment without
    /// any is not finished, whatever was derived of it before.
    pub fn holds_direct(&self, shipment_id: &str) -> bool {
        self.park.holds(shipment_id)
            || self
                .direct
                .get(shipment_id)
                .is_some_and(|events| !events.is_empty())
    }

    /// Whether `shipment_id` was forgotten under the retention rule.
    pub fn is_forgotten(&self, shipment_id: &str) -> bool {
        self.forgotten.contains(shipment_id)
    }

    /// Relates a shipment to the units of its bookings and the flights of its AWB, as known to
    /// the instance that owns it: other instances need these links to know which containers and
    /// conveyances a remembered shipment can still reach (see [`Engine::forget`]).
    ///
    /// `since_millis` is the earliest time of the shipment's own events (see
    /// [`Engine::since_of`]); `None` (a record written before kouan told it) keeps every
    /// container history it is linked to.
    pub fn link(
        &mut self,
        shipment_id: &str,
        units: &[String],
        flights: &[String],
        since_millis: Option<i64>,
    ) {
        if self.forgotten.contains(shipment_id) {
            return;
        }
        let since = since_millis.unwrap_or(i64::MIN);
        match self.link_floors.get_mut(shipment_id) {
            Some(held) => *held = since,
            None => {
                self.link_floors.insert(shipment_id.into(), since);
            }
        }
        for unit in units {
            relate(
                &mut self.shipment_units,
                &mut self.unit_shipments,
                shipment_id,
                unit,
            );
        }
        for flight in flights {
            relate(
                &mut self.shipment_flights,
                &mut self.flight_shipments,
                shipment_id,
                flight,
            );
        }
    }

    /// The earliest event time of the shipment's own (direct) events held here, for its links
    /// record: no window of it starts earlier, except one opened by a STUF naming it, which
    /// every instance reads.
    pub fn since_of(&self, shipment_id: &str) -> Option<i64> {
        self.holds_direct(shipment_id)
            .then(|| self.direct_floor(shipment_id))
    }

    /// The links of a shipment as [`Engine::link`] takes them: the units of every booking and
    /// the flights of its air events, sorted.
    pub fn links_of(&self, shipment_id: &str) -> (Vec<String>, Vec<String>) {
        let mut units = BTreeSet::new();
        let mut flights = BTreeSet::new();
        let parked = self.park.events(shipment_id).unwrap_or_default();
        let held = self.direct.get(shipment_id).into_iter().flatten();
        for event in held.map(|e| e.as_ref()).chain(&parked) {
            match &event.body {
                Body::Shipment(body) => units.extend(body.units.iter().cloned()),
                Body::Air(body) => flights.extend(body.flight.iter().map(Id::to_string)),
                _ => {}
            }
        }
        (units.into_iter().collect(), flights.into_iter().collect())
    }

    /// Drops the direct events of a shipment this instance no longer owns (its partition moved to
    /// another instance); the links stay, as for every shipment owned elsewhere.
    pub fn release(&mut self, shipment_id: &str) {
        self.reach.remove(shipment_id);
        self.let_go_of_retractions(shipment_id, &mut Vec::new());
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
        self.park.discard(shipment_id);
    }

    /// Removes the counted version of an equipment or transport event whose record was deleted
    /// from the shared table (its container or conveyance became unreachable).
    pub fn remove_shared(&mut self, source: &str, event_id: &str) {
        if let Some(held) = self.versions.remove(source, event_id) {
            self.unindex(&held);
        } else if let Some(spilled) = self.spill.take(source, event_id) {
            self.loads_changed(&spilled);
        }
    }

    fn index(&mut self, event: &Arc<Event>) {
        match &event.body {
            Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => {
                push(&mut self.direct, home_of(event), event);
                self.relate_own(event);
            }
            Body::Equipment(body) => {
                let unit = &body.equipment_reference;
                if self.splits() && !self.unit_events.contains_key(unit.as_str()) {
                    self.unsettled.insert(unit.clone());
                }
                push(&mut self.unit_events, unit, event);
                self.loads_changed(event);
                if is_stuffing(body) {
                    for shipment in &body.shipment_ids {
                        relate(
                            &mut self.shipment_units,
                            &mut self.unit_shipments,
                            shipment,
                            unit,
                        );
                    }
                }
                if let Some(transport) = &body.transport {
                    relate(
                        &mut self.unit_conveyances,
                        &mut self.conveyance_units,
                        unit,
                        &transport.reference,
                    );
                }
            }
            Body::Transport(body) => push(&mut self.conveyance_events, &body.reference, event),
        }
    }

    /// Relates a shipment's own event's shipment to the units of its booking or the flight of
    /// its air event.
    fn relate_own(&mut self, event: &Event) {
        match &event.body {
            Body::Shipment(body) => {
                for unit in &body.units {
                    relate(
                        &mut self.shipment_units,
                        &mut self.unit_shipments,
                        &body.shipment_id,
                        unit,
                    );
                }
            }
            Body::Air(body) => {
                if let Some(flight) = &body.flight {
                    relate(
                        &mut self.shipment_flights,
                        &mut self.flight_shipments,
                        &body.awb,
                        flight,
                    );
                }
            }
            _ => {}
        }
    }

    fn unindex(&mut self, event: &Arc<Event>) {
        let index = match &event.body {
            Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => &mut self.direct,
            Body::Equipment(_) => &mut self.unit_events,
            Body::Transport(_) => &mut self.conveyance_events,
        };
        if let Some(events) = index.get_mut(home_of(event)) {
            events.retain(|held| !Arc::ptr_eq(held, event));
        }
        self.loads_changed(event);
    }

    fn affected_by<A: Affected>(&self, event: &Event, affected: &mut A) {
        let at = event.event_time.unix_millis();
        let add_unit = |unit: &str, affected: &mut A| {
            let reached = self
                .unit_shipments
                .get(unit)
                .into_iter()
                .flatten()
                .filter(|id| self.reach.get(*id).is_none_or(|reach| at <= *reach));
            for id in reached {
                affected.mark(id);
            }
        };
        match &event.body {
            Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => {
                affected.mark(direct_subject(event).expect("direct"));
            }
            Body::Equipment(body) => {
                add_unit(&body.equipment_reference, affected);
                if is_stuffing(body) {
                    // forgotten shipments were removed from the relations; only a STUF/STRP
                    // can still name one
                    let remembered = body
                        .shipment_ids
                        .iter()
                        .filter(|id| !self.forgotten.contains(id.as_str()));
                    for id in remembered {
                        affected.mark(id);
                    }
                }
            }
            Body::Transport(body) => {
                for unit in self
                    .conveyance_units
                    .get(body.reference.as_str())
                    .into_iter()
                    .flatten()
                {
                    add_unit(unit, affected);
                }
                for id in self
                    .flight_shipments
                    .get(body.reference.as_str())
                    .into_iter()
                    .flatten()
                {
                    affected.mark(id);
                }
            }
        }
    }

    /// The retention rule: forgets `shipment_id` for good — its direct events, and the events of
    /// units and conveyances that no remembered shipment can reach any more. Later events naming
    /// it are ignored, so a forgotten shipment's published record stays as it was.
    ///
    /// Returns every event version it let go of, so that a runner can delete them from its
    /// changelogs too.
    pub fn forget(&mut self, shipment_id: &str) -> Forgotten {
        let mut dropped = Vec::new();
        self.forgotten.insert(shipment_id.into());
        self.reach.remove(shipment_id);
        self.link_floors.remove(shipment_id);
        self.let_go_of_retractions(shipment_id, &mut dropped);
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

    /// From now until [`Engine::settle_unreachable`], [`Engine::forget`] lets go of a forgotten
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
    pub fn settle_unreachable(&mut self) -> Vec<Arc<Event>> {
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
    fn let_go_of_retractions(&mut self, home: &str, dropped: &mut Vec<Arc<Event>>) {
        for event in self.retractions.remove(home).unwrap_or_default() {
            let winner = self.versions.get(&event);
            if winner.is_some_and(|winner| Arc::ptr_eq(winner, &event)) {
                self.versions.remove(&event.source, &event.event_id);
                dropped.push(event);
            }
        }
    }

    fn drop_unit(&mut self, unit: &str, dropped: &mut Vec<Arc<Event>>) {
        self.let_go_of_retractions(unit, dropped);
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

    fn drop_conveyance_if_unreachable(&mut self, conveyance: &str, dropped: &mut Vec<Arc<Event>>) {
        if self.conveyance_units.contains_key(conveyance)
            || self.flight_shipments.contains_key(conveyance)
        {
            return;
        }
        self.let_go_of_retractions(conveyance, dropped);
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

/// What an event is indexed under: the shipment it names, its unit or its conveyance.
fn home_of(event: &Event) -> &str {
    match &event.body {
        Body::Shipment(body) => &body.shipment_id,
        Body::Air(body) => &body.awb,
        Body::Customs(body) => &body.shipment_id,
        Body::Equipment(body) => &body.equipment_reference,
        Body::Transport(body) => &body.reference,
    }
}

fn push(index: &mut Index, key: &str, event: &Arc<Event>) {
    match index.get_mut(key) {
        Some(events) => events.push(event.clone()),
        None => {
            index.insert(key.into(), vec![event.clone()]);
        }
    }
}

/// [`relate`] for every pair of a relation as [`Engine::state`] lists it.
fn relate_all(pairs: Vec<(String, Vec<String>)>, forward: &mut Relation, backward: &mut Relation) {
    for (from, to) in pairs {
        for to in to {
            relate(forward, backward, &from, &to);
        }
    }
}

fn relate(forward: &mut Relation, backward: &mut Relation, from: &str, to: &str) {
    if !forward.get(from).is_some_and(|set| set.contains(to)) {
        forward.entry(from.into()).or_default().insert(to);
        backward.entry(to.into()).or_default().insert(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_cgo(event_id: &str) -> Event {
        kouan_model::ndjson::decode_line(
            format!(
                r#"{{"eventId":"{event_id}","source":"cgo-cargo","eventTime":"2026-11-01T08:00:00+08:00","location":{{"unlocode":"CNCGO","facility":"CGO-NCT"}},"air":{{"status":"RCS","awb":"172-00000092"}}}}"#
            )
            .as_bytes(),
        )
        .expect("a valid event")
    }

    /// Every held event names the engine's one copy of its place and source, whether applied or
    /// restored from a checkpoint.
    #[test]
    fn held_events_share_their_place_and_source() {
        let shares = |engine: &Engine| {
            let state = engine.state();
            let [a, b] = &state.events[..] else {
                panic!("two events held");
            };
            Arc::ptr_eq(a.location.as_ref().unwrap(), b.location.as_ref().unwrap())
                && Arc::ptr_eq(&a.source, &b.source)
        };
        let mut engine = Engine::new();
        let mut affected = BTreeSet::new();
        engine.apply(at_cgo("e-1"), &mut affected);
        engine.apply(at_cgo("e-2"), &mut affected);
        assert!(shares(&engine));

        let apart = EngineState {
            events: vec![Arc::new(at_cgo("e-1")), Arc::new(at_cgo("e-2"))],
            ..Default::default()
        };
        assert!(!Arc::ptr_eq(
            &apart.events[0].source,
            &apart.events[1].source
        ));
        let restored = Engine::from_state(apart);
        assert!(shares(&restored));
        assert_eq!(
            restored.status("172-00000092"),
            engine.status("172-00000092")
        );
    }
}
