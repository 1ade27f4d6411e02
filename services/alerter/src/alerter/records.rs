//! The alerter's state as the records of its changelog (`crate::state`): what is written of a
//! shipment under watch and of a baseline, and restoring them.

use super::*;

/// The alerter's state as changelog records ([`crate::state`]): what changed, and back.
impl Alerter {
    /// The shipments and baselines changed since the last call, and forgets that they were.
    pub fn take_dirty(&mut self) -> (Vec<String>, Vec<BaselineKey>) {
        let shipments = std::mem::take(&mut self.dirty).into_iter().collect();
        (shipments, self.baselines.take_dirty())
    }

    /// What the changelog holds for a shipment; `None` once the alerter keeps nothing of it (a
    /// tombstone).
    pub fn shipment_record(&self, shipment_id: &str) -> Option<ShipmentRecord> {
        let watched = self.watched.get(shipment_id);
        let judged = self.judged.get(shipment_id);
        let learned = self.learned.get(shipment_id);
        let open: Vec<_> = self
            .open_keys_of(shipment_id)
            .iter()
            .filter_map(|key| self.open.get(key))
            .map(Alert::to_proto)
            .collect();
        if watched.is_none() && judged.is_none() && learned.is_none() && open.is_empty() {
            return None;
        }
        let episodes = |keys: Option<&BTreeSet<EpisodeKey>>| {
            keys.into_iter()
                .flatten()
                .map(state::key_to_record)
                .collect()
        };
        Some(ShipmentRecord {
            watched: watched.is_some(),
            shipper: watched.and_then(|w| w.shipper.clone()),
            mode: watched.map(|w| w.mode.clone()).unwrap_or_default(),
            finished: watched.is_some_and(|w| w.finished),
            partition: watched.map_or(0, |w| w.partition),
            episodes: watched
                .into_iter()
                .flat_map(|w| &w.episodes)
                .map(|episode| state::EpisodeRecord {
                    until: episode.until,
                    ..state::key_to_record(&episode.key())
                })
                .collect(),
            judged: episodes(judged),
            learned: episodes(learned),
            open,
        })
    }

    /// Takes back a shipment's record at start. It is judged again at the first tick, at its
    /// partition's clock (judging is idempotent: what was raised or judged is known).
    pub fn restore_shipment(
        &mut self,
        shipment_id: &str,
        record: ShipmentRecord,
    ) -> Result<(), StateError> {
        let keys = |records: &[state::EpisodeRecord]| {
            records
                .iter()
                .map(state::record_to_key)
                .collect::<Result<BTreeSet<_>, _>>()
        };
        let judged = keys(&record.judged)?;
        let learned = keys(&record.learned)?;
        let open = record
            .open
            .into_iter()
            .map(state::alert_of)
            .collect::<Result<Vec<_>, _>>()?;
        if record.watched {
            let episodes = record
                .episodes
                .iter()
                .map(|episode| {
                    Ok(Episode {
                        kind: state::kind_of(episode)?,
                        node: episode.node.clone(),
                        stage: episode.stage.clone(),
                        since: episode.since,
                        until: episode.until,
                    })
                })
                .collect::<Result<Vec<_>, StateError>>()?;
            self.watched.insert(
                shipment_id.to_string(),
                Watched {
                    shipper: record.shipper,
                    mode: record.mode,
                    finished: record.finished,
                    partition: record.partition,
                    episodes,
                },
            );
            self.partitions.insert(record.partition);
            if let Some(due) = self.due.insert(shipment_id.to_string(), i64::MIN) {
                self.schedule.remove(&(due, shipment_id.to_string()));
            }
            self.schedule.insert((i64::MIN, shipment_id.to_string()));
        }
        for alert in open {
            self.open.insert(
                (alert.shipment_id.clone(), alert.node.clone(), alert.kind),
                alert,
            );
        }
        if !judged.is_empty() {
            self.judged.insert(shipment_id.to_string(), judged);
        }
        if !learned.is_empty() {
            self.learned.insert(shipment_id.to_string(), learned);
        }
        Ok(())
    }

    /// A baseline's record (its window of completed dwells).
    pub fn baseline_record(&self, key: &BaselineKey) -> BaselineRecord {
        self.baselines.record_of(key)
    }

    pub fn restore_baseline(&mut self, record: BaselineRecord) {
        self.baselines.restore(record);
    }

    /// Shipments the alerter keeps (under way, or finished with an alert open).
    pub fn watched_len(&self) -> usize {
        self.watched.len()
    }
}
