//! What a tenure does besides applying records: the retention sweep that forgets finished
//! shipments, and the latency, lag and progress reports.

use super::*;
use crate::engine::Forgotten;

impl Tenure<'_> {
    /// Forgets the owned shipments due under the retention rule (inside the open transaction).
    pub(super) fn apply_retention(&mut self) -> Result<(), ProcessError> {
        let shipments = self.layout.shipments;
        let owned = self.owned.clone();
        let mut forgotten: Vec<(String, i64, Forgotten)> = Vec::new();
        self.retention.sweep_with(
            &mut self.engine,
            |id| owned.contains(&partition_of(id.as_bytes(), shipments)),
            |id, finish, dropped| forgotten.push((id.to_string(), finish, dropped)),
        );
        for (shipment_id, finish, dropped) in forgotten {
            let partition = partition_of(shipment_id.as_bytes(), shipments);
            for key in dropped.own_event_keys() {
                self.write_by_shipment(partition, &key, None, None)?;
            }
            self.tombstone_unreachable(dropped.shared_events())?;
            let links = Links {
                forgotten: true,
                finished_millis: Some(finish),
                ..Links::default()
            };
            self.send_links(&shipment_id, &links.encode_to_vec())?;
            self.published.remove(&shipment_id);
            self.links_written.remove(&shipment_id);
            self.stats.forgotten.fetch_add(1, Ordering::Relaxed);
        }
        if self.retention.trim_due(self.engine.watermark_millis()) {
            let horizon = self.retention.horizon(self.engine.watermark_millis());
            let dropped = self.retention.trim(&mut self.engine);
            self.tombstone_unreachable(&dropped)?;
            self.dead_letter_unreached(horizon)?;
        }
        Ok(())
    }

    /// Retention when nothing else happens: a transaction only when something is due.
    pub(super) fn apply_retention_if_due(&mut self) -> Result<(), ProcessError> {
        let watermark = self.engine.watermark_millis();
        if !self.retention.due(watermark) && !self.retention.trim_due(watermark) {
            return Ok(());
        }
        self.producer.begin()?;
        match self.apply_retention() {
            Ok(()) => self.commit(&self.positions()?)?,
            Err(error) => {
                let _ = self.producer.abort();
                return Err(error);
            }
        }
        Ok(())
    }

    pub(super) fn observe_latency(&mut self) {
        if self.cycle_timestamps.is_empty() {
            return;
        }
        let done = kouan_model::wall_millis();
        for published_at in self.cycle_timestamps.drain(..) {
            self.stats
                .latency
                .observe((done - published_at) as f64 / 1000.0);
        }
    }

    pub(super) fn report(&mut self) {
        self.stats
            .held
            .store(self.engine.events_held() as u64, Ordering::Relaxed);
        self.stats
            .spilled
            .store(self.engine.events_spilled() as u64, Ordering::Relaxed);
        if self.lag_at.elapsed() >= kouan_bus::timing::LAG_REPORT {
            self.lag_at = Instant::now();
            let (park, spill) = self.engine.scratch_bytes();
            self.stats.park_bytes.store(park, Ordering::Relaxed);
            self.stats.spill_bytes.store(spill, Ordering::Relaxed);
            if let Some(checkpoints) = &self.checkpoints {
                let size = std::fs::metadata(&checkpoints.path).map_or(0, |m| m.len());
                self.stats.checkpoint_bytes.store(size, Ordering::Relaxed);
            }
            let lag: i64 = kouan_bus::follower::lag(&self.group).values().sum();
            self.stats.lag.store(lag, Ordering::Relaxed);
        }
        if self.last_log.elapsed() >= Duration::from_secs(10) {
            tracing::info!(
                events = self.stats.events.load(Ordering::Relaxed),
                published = self.stats.published.load(Ordering::Relaxed),
                rejected = self.stats.rejected.load(Ordering::Relaxed),
                held = self.engine.events_held(),
                spilled = self.engine.events_spilled(),
                owned = ?self.owned,
                "processing"
            );
            self.last_log = Instant::now();
        }
    }
}
