//! The streaming implementation: events arrive one at a time, in any order, any number of times;
//! the engine keeps the counted version of each, indexes them by shipment, unit and conveyance,
//! and tells which shipments an arrival may have changed. Recomputing those shipments from the
//! indexes gives exactly what the reference gives for the same set of events — late links
//! included, because a link arriving late marks every shipment it touches as affected.
//!
//! The engine's parts, each a file of `engine/`: `index` (the indexes, relations and what an
//! arrival affects), `derive` (a shipment's status from its window), `residency` (container
//! history in memory or spilled), `parked` (finished shipments' events parked), `trim`
//! (history no shipment reaches), `forget` (shipments past retention), `state` (the engine
//! as plain data).

mod derive;
mod forget;
mod index;
mod parked;
mod residency;
mod state;
#[cfg(test)]
mod tests;
mod trim;

pub use forget::Forgotten;
use residency::Residency;
pub use state::EngineState;

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

/// The engine's maps hash with foldhash (seeded per process): over these short string keys it is
/// faster than SipHash, std's default, in the core's criterion bench.
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
    /// Shipments forgotten under the retention rule, with their finish (Unix ms; `i64::MIN` when
    /// the links record that told it was written before kouan kept it): their later events are
    /// not applied but dead-lettered.
    forgotten: HashMap<Id, i64>,
    /// Conveyance events the trim let go of that nothing had reached, not yet taken
    /// ([`Engine::take_unreached`]): each is dead-lettered once.
    unreached: Vec<Arc<Event>>,
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
        if direct_subject(&event).is_some_and(|id| self.forgotten.contains_key(id)) {
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
            self.park.drop_block(&subject);
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
            self.spill.drop_event(&held);
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

    /// Makes this engine derive only `owner`'s shipments (`None`: all), so that it holds in
    /// memory only the container history they need (see [`Engine::spill_unneeded`]).
    pub fn set_owner(&mut self, owner: Option<Owner>) {
        if self.owner != owner {
            self.owner = owner;
            self.unsettled.extend(self.unit_events.keys().cloned());
            self.unsettled.extend(self.residency.keys().cloned());
        }
    }

    /// Whether this engine derives `shipment_id` (see [`Engine::set_owner`]).
    pub fn owns(&self, shipment_id: &str) -> bool {
        self.owner
            .as_ref()
            .is_none_or(|owner| owner.owns(shipment_id))
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

    /// The bytes its scratch files hold on disk: the park's and the spill's.
    pub fn scratch_bytes(&self) -> (u64, u64) {
        (self.park.bytes_on_disk(), self.spill.bytes_on_disk())
    }

    pub fn watermark_millis(&self) -> i64 {
        self.watermark_millis
    }

    /// Whether offering `event` would change the counted version of its (`source`, `eventId`):
    /// false for a redelivery or an older version.
    pub fn is_news(&self, event: &Event) -> bool {
        if direct_subject(event).is_some_and(|id| self.forgotten.contains_key(id)) {
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
        if self.forgotten.contains_key(shipment_id) {
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

    /// Removes the counted version of an equipment or transport event whose record was deleted
    /// from the shared table (its container or conveyance became unreachable).
    pub fn remove_shared(&mut self, source: &str, event_id: &str) {
        if let Some(held) = self.versions.remove(source, event_id) {
            self.unindex(&held);
        } else if let Some(spilled) = self.spill.take(source, event_id) {
            self.loads_changed(&spilled);
        }
    }
}

/// What an event is indexed under: the shipment it names, its unit or its conveyance.
pub(crate) fn home_of(event: &Event) -> &str {
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
