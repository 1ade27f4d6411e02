//! What a shipment went or is going through, read from its status record's milestones: each
//! dwell at a node, each wait for an awaited milestone, each customs hold — the episodes the
//! alert rules judge. Pure: a status in, episodes out.

use crate::state::EpisodeKey;
use kouan_model::{
    AlertKind, Classifier, CustomsState, CustomsStatus, Direction, Milestone, ShipmentMode, Status,
    TransportStage,
};

/// Something a shipment went or is going through that a rule may judge: a dwell at a node, the
/// wait for an awaited milestone, a customs hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub kind: AlertKind,
    pub node: String,
    /// DWELL: the transport stage it waited in; otherwise what is awaited (NFD, RELEASED) or
    /// CUSTOMS.
    pub stage: String,
    /// When it began (Unix milliseconds, event time).
    pub since: i64,
    /// When it ended; `None` while it lasts.
    pub until: Option<i64>,
}

impl Episode {
    /// An episode's identity (kind, node, stage, since): at most one alert per episode, ever.
    pub(crate) fn key(&self) -> EpisodeKey {
        (self.kind, self.node.clone(), self.stage.clone(), self.since)
    }
}

/// What the alerter keeps of a shipment's latest record.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub shipper: Option<String>,
    pub mode: String,
    pub finished: bool,
    /// The partition of `kouan.status` the record came from: its clock is that partition's.
    pub partition: i32,
    pub episodes: Vec<Episode>,
}

impl Watched {
    pub fn from_status(status: &Status, partition: i32) -> Self {
        let mut episodes = dwells(status);
        episodes.extend(awaited(status));
        episodes.extend(customs_troubles(status));
        Watched {
            shipper: status.shipper.clone(),
            mode: status.mode.map_or("UNKNOWN", |m| m.code()).to_string(),
            finished: status.is_finished(),
            partition,
            episodes,
        }
    }
}

pub(crate) fn millis(milestone: &Milestone) -> i64 {
    milestone.event_time.unix_millis()
}

/// The dwells at each node, from the runs of actual movements at one UN/LOCODE: a dwell begins
/// with the first movement there and ends with a departure from there, the first movement
/// elsewhere or the delivery; the last one lasts while the record says it waits there
/// ([`Status::waiting`], the contract's `dwellSince`).
fn dwells(status: &Status) -> Vec<Episode> {
    let movements: Vec<&Milestone> = status
        .milestones
        .iter()
        .filter(|m| m.classifier == Classifier::Act && m.location.is_some() && m.is_movement())
        .collect();
    let node = |m: &Milestone| {
        m.location
            .as_ref()
            .map_or("", |l| l.unlocode.as_str())
            .to_string()
    };
    let mut runs: Vec<(String, i64, Option<i64>)> = Vec::new();
    for movement in &movements {
        let here = node(movement);
        match runs.last_mut() {
            Some((at, _, end)) if *at == here => {
                if end.is_none() && movement.is_departure() {
                    *end = Some(millis(movement));
                }
            }
            last => {
                if let Some((_, _, end)) = last {
                    end.get_or_insert(millis(movement));
                }
                let end = movement.is_departure().then(|| millis(movement));
                runs.push((here, millis(movement), end));
            }
        }
    }
    let waiting = status.waiting();
    runs.into_iter()
        .filter_map(|(node, since, end)| {
            let until = match end {
                Some(end) => Some(end),
                // only the last run can be open: each later run ended the one before
                None => match waiting {
                    Some((at, dwell_since)) if at == node => {
                        return Some(Episode {
                            kind: AlertKind::Dwell,
                            stage: stage_at(status, dwell_since.unix_millis())
                                .code()
                                .to_string(),
                            node,
                            since: dwell_since.unix_millis(),
                            until: None,
                        })
                    }
                    // finished: the last dwell ended with the delivery (a cancellation ends
                    // nothing worth learning)
                    _ => Some(status.delivered_at?.unix_millis()),
                },
            };
            Some(Episode {
                kind: AlertKind::Dwell,
                stage: stage_at(status, since).code().to_string(),
                node,
                since,
                until,
            })
        })
        .collect()
}

/// The transport stage the shipment was in when a dwell began at `at` (STATUS.md's stage rule
/// applied to the record's own times).
fn stage_at(status: &Status, at: i64) -> TransportStage {
    let reached = |t: &Option<kouan_model::Timestamp>| t.is_some_and(|t| t.unix_millis() <= at);
    if reached(&status.arrived_at) {
        TransportStage::Arrived
    } else if status.departed_at.is_some_and(|d| d.unix_millis() < at) {
        TransportStage::InTransit
    } else if reached(&status.departed_at) {
        TransportStage::Departed
    } else if reached(&status.received_at) {
        TransportStage::Received
    } else {
        TransportStage::Booked
    }
}

/// The first actual milestone with one of `codes`.
fn first_of(status: &Status, codes: &[&str]) -> Option<i64> {
    status
        .milestones
        .iter()
        .filter(|m| m.classifier == Classifier::Act && codes.contains(&m.code))
        .map(millis)
        .min()
}

/// Waits for a milestone due after an import's arrival: the air notification (NFD, or the
/// delivery itself) and the customs release. Each ends when it comes, or with the delivery.
fn awaited(status: &Status) -> Vec<Episode> {
    let (true, Some(port), Some(arrived)) = (
        status.direction == Some(Direction::Import),
        &status.port_of_entry,
        status.arrived_at,
    ) else {
        return Vec::new();
    };
    let arrived = arrived.unix_millis();
    let delivered = status.delivered_at.map(|t| t.unix_millis());
    let cancelled = status.transport_stage == TransportStage::Cancelled;
    let wait = |stage: &str, came: Option<i64>| {
        let until = came.or(delivered);
        (until.is_some() || !cancelled).then(|| Episode {
            kind: AlertKind::MissingMilestone,
            node: port.clone(),
            stage: stage.to_string(),
            since: arrived,
            until,
        })
    };
    let mut episodes = Vec::new();
    if status.mode == Some(ShipmentMode::Air) {
        episodes.extend(wait("NFD", first_of(status, &["NFD", "DLV"])));
    }
    // a two-step declaration shows DECLARED again after its release: released is released
    episodes.extend(wait("RELEASED", first_of(status, &["RELEASED", "CLOSED"])));
    episodes
}

/// Customs holds and rejections: each begins with a SUSPENDED or REJECTED and ends with the next
/// customs decision that is neither; the last one lasts while the record's customs state says so.
fn customs_troubles(status: &Status) -> Vec<Episode> {
    let node = status.customs_node().unwrap_or_default().to_string();
    let decisions: Vec<(i64, CustomsState)> = status
        .milestones
        .iter()
        .filter(|m| m.classifier == Classifier::Act)
        .filter_map(|m| Some((millis(m), CustomsStatus::from_code(m.code)?.state())))
        .collect();
    let trouble = |state: CustomsState| match state {
        CustomsState::Held => Some(AlertKind::CustomsHold),
        CustomsState::Rejected => Some(AlertKind::CustomsRejected),
        _ => None,
    };
    let mut episodes: Vec<Episode> = Vec::new();
    for (at, state) in decisions {
        let open = episodes.last_mut().filter(|e| e.until.is_none());
        match (open, trouble(state)) {
            (Some(open), Some(kind)) if open.kind == kind => {}
            (open, kind) => {
                if let Some(open) = open {
                    open.until = Some(at);
                }
                if let Some(kind) = kind {
                    episodes.push(Episode {
                        kind,
                        node: node.clone(),
                        stage: "CUSTOMS".into(),
                        since: at,
                        until: None,
                    });
                }
            }
        }
    }
    // the record's state decides whether the last one still lasts (and when it began: the latest
    // SUSPENDED or REJECTED)
    if let Some(last) = episodes.last_mut().filter(|e| e.until.is_none()) {
        if trouble(status.customs_status) != Some(last.kind) || status.is_finished() {
            last.until = Some(status.delivered_at.map_or(last.since, |t| t.unix_millis()));
        }
    }
    episodes
}
