//! The alert lifecycle over status records: what each shipment went through and is going through
//! (episodes read from its milestones), which of them break a rule at a given time, and the
//! FIRING / RESOLVED updates that follow. Time is passed in — the pipeline's event-time clock in
//! `kouan alert`, simulated time in tests — so the same code judges live and replayed streams.
//!
//! A record carries every milestone of its shipment, so the alerter judges the whole history each
//! time, not only the moment the record shows: a dwell that began and ended between two records
//! (a replay publishes one record per batch of events) is still seen, and raised and resolved at
//! the times it happened. That is what makes a replay, a restart or a start on old topics give
//! the alerts live operation gives.

mod judgement;
mod records;

use judgement::raised;

use crate::baseline::{BaselineKey, Baselines};
pub use crate::episodes::{Episode, Watched};
use crate::rules::Rules;
use crate::state::EpisodeKey;
use crate::state::{self, BaselineRecord, ShipmentRecord, StateError};
use kouan_model::{Alert, Status};
use kouan_model::{AlertKind, AlertState};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const HOUR_MS: f64 = 3_600_000.0;

pub struct Alerter {
    rules: Rules,
    baselines: Baselines,
    watched: HashMap<String, Watched>,
    /// FIRING alerts by (shipment, node, kind).
    open: BTreeMap<(String, String, AlertKind), Alert>,
    /// Per shipment, the episodes already judged over (raised and resolved, or ended within
    /// their threshold) and the dwells already learned: each counts once, however many records
    /// repeat it.
    judged: HashMap<String, BTreeSet<EpisodeKey>>,
    learned: HashMap<String, BTreeSet<EpisodeKey>>,
    /// When each shipment next needs judging without a new record (a lasting episode reaches
    /// its threshold, an open alert is due an update), in time order: the timer judges only
    /// those, not every shipment under way.
    schedule: BTreeSet<(i64, String)>,
    due: HashMap<String, i64>,
    partitions: BTreeSet<i32>,
    /// Shipments whose state changed since the last [`Alerter::take_dirty`]: what the
    /// changelog must be told.
    dirty: BTreeSet<String>,
}

impl Alerter {
    pub fn new(rules: Rules) -> Self {
        let baselines = Baselines::new(rules.baseline_window, rules.baseline_min_samples);
        Alerter {
            rules,
            baselines,
            watched: HashMap::new(),
            open: BTreeMap::new(),
            judged: HashMap::new(),
            learned: HashMap::new(),
            schedule: BTreeSet::new(),
            due: HashMap::new(),
            partitions: BTreeSet::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// Takes over the alerts already on the topic (after a restart): FIRING ones are updated or
    /// resolved rather than raised again, RESOLVED ones are episodes over, not raised again when
    /// the records are read anew.
    pub fn adopt(&mut self, alert: Alert) {
        let key = (alert.shipment_id.clone(), alert.node.clone(), alert.kind);
        self.dirty.insert(alert.shipment_id.clone());
        if alert.state == AlertState::Firing {
            self.open.insert(key, alert);
        } else {
            self.open.remove(&key);
            self.judged.entry(alert.shipment_id).or_default().insert((
                alert.kind,
                alert.node,
                alert.stage,
                alert.started_at_millis,
            ));
        }
    }

    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.open.values()
    }

    /// A new record of a shipment (from partition 0): see [`Alerter::observe_in`].
    pub fn observe(&mut self, status: &Status, now: i64) -> Vec<Alert> {
        self.observe_in(status, 0, now)
    }

    /// A new record of a shipment from `partition`: learns its completed dwells, then judges it
    /// at `now` (the partition's clock).
    pub fn observe_in(&mut self, status: &Status, partition: i32, now: i64) -> Vec<Alert> {
        let watched = Watched::from_status(status, partition);
        let id = &status.shipment_id;
        self.watched.insert(id.clone(), watched);
        self.partitions.insert(partition);
        self.dirty.insert(id.clone());
        self.judge_and_schedule(id, now)
    }

    /// Learns the shipment's dwells completed by `now` into the baselines, each once; whether
    /// any was new.
    fn learn_completed(&mut self, shipment_id: &str, now: i64) -> bool {
        let Some(watched) = self.watched.get(shipment_id) else {
            return false;
        };
        let learned = self.learned.entry(shipment_id.to_string()).or_default();
        let mut any = false;
        for dwell in watched
            .episodes
            .iter()
            .filter(|e| e.kind == AlertKind::Dwell)
        {
            // a dwell that ends after now is not over yet (see `evaluate`)
            let Some(until) = dwell.until.filter(|&until| until <= now) else {
                continue;
            };
            if learned.insert(dwell.key()) {
                let key: BaselineKey = (
                    dwell.node.clone(),
                    watched.mode.clone(),
                    dwell.stage.clone(),
                );
                self.baselines.observe(key, dwell.since, until);
                any = true;
            }
        }
        any
    }

    /// A shipment that no longer exists (its status record was deleted: the booking was
    /// retracted): its open alerts are resolved at `now` and its state goes.
    pub fn shipment_deleted(&mut self, shipment_id: &str, now: i64) -> Vec<Alert> {
        let mut updates = Vec::new();
        for key in self.open_keys_of(shipment_id) {
            let mut alert = self.open.remove(&key).expect("listed");
            alert.state = AlertState::Resolved;
            alert.updated_at_millis = now;
            alert.resolved_at_millis = Some(now);
            alert.message = format!("{} resolved: the shipment was deleted", alert.message);
            updates.push(alert);
        }
        let known = self.watched.remove(shipment_id).is_some()
            | self.judged.remove(shipment_id).is_some()
            | self.learned.remove(shipment_id).is_some();
        if let Some(due) = self.due.remove(shipment_id) {
            self.schedule.remove(&(due, shipment_id.to_string()));
        }
        if known || !updates.is_empty() {
            self.dirty.insert(shipment_id.to_string());
        }
        updates
    }

    /// The keys of a shipment's open alerts.
    fn open_keys_of(&self, shipment_id: &str) -> Vec<(String, String, AlertKind)> {
        self.open
            .range((shipment_id.to_string(), String::new(), AlertKind::Dwell)..)
            .take_while(|((id, _, _), _)| id == shipment_id)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The timer at one `now` for every partition: see [`Alerter::tick_by`].
    pub fn tick(&mut self, now: i64) -> Vec<Alert> {
        self.tick_by(|_| now)
    }

    /// The timer: judges the shipments that are due at their partition's `now` (`now_of`), so a
    /// shipment that goes silent still alerts, and only those.
    pub fn tick_by(&mut self, now_of: impl Fn(i32) -> i64) -> Vec<Alert> {
        let Some(latest) = self.partitions.iter().map(|&p| now_of(p)).max() else {
            return Vec::new();
        };
        let mut updates = Vec::new();
        let mut not_yet = Vec::new();
        while let Some((due, id)) = self.schedule.first().cloned() {
            if due > latest {
                break;
            }
            self.schedule.pop_first();
            let Some(partition) = self.watched.get(&id).map(|w| w.partition) else {
                self.due.remove(&id);
                continue;
            };
            let now = now_of(partition);
            if due > now {
                // its partition is behind the others: later
                not_yet.push((due, id));
                continue;
            }
            self.due.remove(&id);
            updates.extend(self.judge_and_schedule(&id, now));
        }
        self.schedule.extend(not_yet);
        updates
    }

    /// Judges every shipment still under way (or with an alert open) at its partition's now,
    /// then lets go of finished shipments with nothing open. The timer's schedule follows each
    /// threshold as it was when the shipment was last judged; a sweep catches the thresholds
    /// that baselines have since lowered. Also the way to drop what is over.
    pub fn sweep(&mut self, now_of: impl Fn(i32) -> i64) -> Vec<Alert> {
        let with_open_alerts: BTreeSet<&String> = self.open.keys().map(|(id, _, _)| id).collect();
        let due: Vec<(String, i32)> = self
            .watched
            .iter()
            .filter(|(id, watched)| !watched.finished || with_open_alerts.contains(id))
            .map(|(id, watched)| (id.clone(), watched.partition))
            .collect();
        let updates: Vec<Alert> = due
            .into_iter()
            .flat_map(|(id, partition)| self.judge_and_schedule(&id, now_of(partition)))
            .collect();
        let with_open_alerts: BTreeSet<String> =
            self.open.keys().map(|(id, _, _)| id.clone()).collect();
        let gone: Vec<String> = self
            .watched
            .iter()
            .filter(|(id, watched)| watched.finished && !with_open_alerts.contains(*id))
            // finished as of its clock: nothing of it ends later (see `evaluate`)
            .filter(|(_, watched)| {
                let now = now_of(watched.partition);
                !watched
                    .episodes
                    .iter()
                    .any(|e| e.until.is_some_and(|u| u > now))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.dirty.insert(id.clone());
            self.watched.remove(&id);
            self.judged.remove(&id);
            self.learned.remove(&id);
            if let Some(due) = self.due.remove(&id) {
                self.schedule.remove(&(due, id));
            }
        }
        updates
    }

    /// Judges a shipment at `now` and schedules when it next needs judging.
    fn judge_and_schedule(&mut self, shipment_id: &str, now: i64) -> Vec<Alert> {
        let judged_before = self.judged.get(shipment_id).map_or(0, BTreeSet::len);
        let updates = self.evaluate(shipment_id, now);
        // then its dwells over by now are learned; a dwell is judged against the dwells that
        // had ended when it passed its threshold (see `judge`), so neither it nor the other
        // containers of its train excuse it, whatever order their records come in
        let learned = self.learn_completed(shipment_id, now);
        if !updates.is_empty()
            || learned
            || self.judged.get(shipment_id).map_or(0, BTreeSet::len) != judged_before
        {
            self.dirty.insert(shipment_id.to_string());
        }
        let next = self.next_due(shipment_id, now);
        if let Some(due) = self.due.remove(shipment_id) {
            self.schedule.remove(&(due, shipment_id.to_string()));
        }
        if let Some(next) = next {
            self.due.insert(shipment_id.to_string(), next);
            self.schedule.insert((next, shipment_id.to_string()));
        }
        updates
    }

    /// The earliest time after `now` at which judging the shipment again could change something
    /// without a new record: a lasting episode passes its threshold, or an open alert has grown
    /// enough to be re-published.
    fn next_due(&self, shipment_id: &str, now: i64) -> Option<i64> {
        let watched = self.watched.get(shipment_id)?;
        let update_every = (self.rules.update_every_hours * HOUR_MS) as i64;
        watched
            .episodes
            .iter()
            .filter(|episode| episode.until.is_none_or(|until| until > now))
            .filter_map(|episode| {
                let key = (shipment_id.to_string(), episode.node.clone(), episode.kind);
                let lasting = match self.open.get(&key) {
                    Some(alert) => Some(alert.updated_at_millis + update_every),
                    None if watched.finished && episode.until.is_none() => None,
                    None => {
                        let threshold = self.judge(watched, episode).threshold_hours;
                        Some(episode.since + (threshold * HOUR_MS) as i64 + 1)
                    }
                };
                // an end after now: over once the clock reaches it (see `evaluate`)
                lasting.into_iter().chain(episode.until).min()
            })
            .map(|due| due.max(now + 1))
            .min()
    }

    fn evaluate(&mut self, shipment_id: &str, now: i64) -> Vec<Alert> {
        let Some(watched) = self.watched.get(shipment_id) else {
            return Vec::new();
        };
        let hours = |from: i64, to: i64| (to - from) as f64 / HOUR_MS;
        let customs =
            |kind: AlertKind| matches!(kind, AlertKind::CustomsHold | AlertKind::CustomsRejected);
        // what holds now: lasting episodes past their threshold (a dwell ends with the shipment).
        // A record may know a little of what comes after `now` — events read with it that are
        // later than the watermark it carries (a replay reads the inputs unevenly) — while
        // something before its end may still be unread: an episode that ends after `now` is
        // judged as lasting at `now` (its shipment is not finished then), and one that begins
        // after it has not begun. Each is judged again when the clock reaches its end.
        let mut holding = Vec::new();
        let mut over = Vec::new();
        for episode in watched.episodes.iter().filter(|e| e.since <= now) {
            let judgement = self.judge(watched, episode);
            let past_threshold = hours(episode.since, now) > judgement.threshold_hours;
            match episode.until {
                Some(until) if until <= now => over.push((episode.clone(), until, judgement)),
                Some(_) if customs(episode.kind) || past_threshold => {
                    holding.push((episode.clone(), judgement))
                }
                None if customs(episode.kind) || (!watched.finished && past_threshold) => {
                    holding.push((episode.clone(), judgement))
                }
                Some(_) | None => {}
            }
        }
        let shipper = watched.shipper.clone();
        let open_here = self.open_keys_of(shipment_id);
        let judged = self.judged.entry(shipment_id.to_string()).or_default();
        let mut updates = Vec::new();

        // resolve what no longer holds
        for key in open_here {
            if holding
                .iter()
                .any(|(e, _)| e.node == key.1 && e.kind == key.2)
            {
                continue;
            }
            let mut alert = self.open.remove(&key).expect("listed");
            judged.insert((
                alert.kind,
                alert.node.clone(),
                alert.stage.clone(),
                alert.started_at_millis,
            ));
            alert.state = AlertState::Resolved;
            alert.updated_at_millis = now;
            alert.resolved_at_millis = Some(now);
            alert.message = format!("{} resolved", alert.message);
            updates.push(alert);
        }

        // raise or update what holds
        for (episode, judgement) in holding {
            let observed_hours = hours(episode.since, now).max(0.0);
            let key = (shipment_id.to_string(), episode.node.clone(), episode.kind);
            match self.open.get_mut(&key) {
                Some(alert) => {
                    if observed_hours - alert.observed_hours >= self.rules.update_every_hours {
                        alert.observed_hours = observed_hours;
                        alert.threshold_hours = judgement.threshold_hours;
                        alert.baseline = judgement.baseline;
                        alert.updated_at_millis = now;
                        updates.push(alert.clone());
                    }
                }
                None => {
                    let alert = raised(
                        shipment_id,
                        &shipper,
                        &episode,
                        judgement,
                        observed_hours,
                        now,
                    );
                    self.open.insert(key, alert.clone());
                    updates.push(alert);
                }
            }
        }

        // episodes over that broke their rule while nobody was looking (between two records):
        // raised and resolved at the times they happened
        for (episode, until, judgement) in over {
            let key = episode.key();
            let alert_key = (shipment_id.to_string(), episode.node.clone(), episode.kind);
            if judged.contains(&key) || self.open.contains_key(&alert_key) {
                continue;
            }
            let lasted = hours(episode.since, until);
            if !customs(episode.kind) && lasted <= judgement.threshold_hours {
                // within its threshold; it may still be judged again under a tighter baseline
                // only if a later record changes it, which gives it a new identity
                judged.insert(key);
                continue;
            }
            judged.insert(key);
            let due_at = episode.since + (judgement.threshold_hours * HOUR_MS) as i64;
            let mut alert = raised(
                shipment_id,
                &shipper,
                &episode,
                judgement,
                lasted,
                due_at.min(until),
            );
            updates.push(alert.clone());
            alert.state = AlertState::Resolved;
            alert.updated_at_millis = until;
            alert.resolved_at_millis = Some(until);
            alert.message = format!("{} resolved", alert.message);
            updates.push(alert);
        }
        updates
    }
}

/// `shipment/node/kind`: one alert per (shipment, node, kind), whatever happens to it.
pub fn alert_id(shipment_id: &str, node: &str, kind: AlertKind) -> String {
    format!("{shipment_id}/{node}/{}", kind.code())
}
