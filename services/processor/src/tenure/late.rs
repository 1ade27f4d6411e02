//! Late data: events the retention rule no longer lets count, dead-lettered rather than dropped.
//!
//! Two kinds, each with a reason that names the horizon and what it was late for:
//! - an event of a shipment already forgotten (finished longer than `--retention` ago, by the
//!   watermark): not applied, its shipment's record stays as published;
//! - the events of a train or flight nothing reached before they passed the horizon, let go of by
//!   the trim: a LOAD or MAN naming it later would not find them.
//!
//! Each goes to `kouan.deadletter` in the transaction that decided it (so exactly once), with its
//! protobuf form as the payload, so that `kouan replay-dead-letters` can offer it again once the
//! horizon allows (docs/processor.md, *Late data*).

use super::*;
use std::time::Duration;

/// Why a forgotten shipment's event was not applied.
pub fn forgotten_reason(
    shipment_id: &str,
    finish_millis: Option<i64>,
    retention: Duration,
) -> String {
    let finish = finish_millis
        .and_then(Timestamp::from_unix_millis)
        .map_or("at a time not recorded".to_string(), |t| format!("at {t}"));
    format!(
        "late: shipment {shipment_id} finished {finish} and was forgotten past the horizon \
         (--retention {}); the event is not applied and its record stays as published",
        humantime::format_duration(retention)
    )
}

/// Why an event of a conveyance nothing reached was let go of.
pub fn unreached_reason(event: &Event, horizon_millis: i64, retention: Duration) -> String {
    let horizon = Timestamp::from_unix_millis(horizon_millis)
        .map_or(horizon_millis.to_string(), |t| t.to_string());
    format!(
        "late: conveyance {} ({}): nothing reached its events before the horizon {horizon} \
         (--retention {}); a LOAD or MAN naming it later will not find them",
        crate::engine::home_of(event),
        event.kind().name(),
        humantime::format_duration(retention)
    )
}

impl Tenure<'_> {
    /// `message`, a by-shipment record of the forgotten `shipment_id`, to the dead-letter topic.
    pub(super) fn dead_letter_forgotten(
        &mut self,
        message: &OwnedMessage,
        shipment_id: &str,
        finish_millis: Option<i64>,
    ) -> Result<(), ProcessError> {
        let reason = forgotten_reason(shipment_id, finish_millis, self.config.retention);
        let origin = format!(
            "processor:{}/{}@{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        tracing::warn!(
            shipment_id,
            origin = %origin,
            "late event of a forgotten shipment dead-lettered"
        );
        self.stats.late_forgotten.fetch_add(1, Ordering::Relaxed);
        self.producer.send(
            &self.config.topics.deadletter(),
            Some(shipment_id.as_bytes()),
            message.payload().unwrap_or_default(),
            Some(kouan_bus::headers::rejection_headers(&reason, &origin)),
        )?;
        Ok(())
    }

    /// The conveyance events the trim let go of unreached, each by the instance owning its home
    /// partition (as its tombstone is).
    pub(super) fn dead_letter_unreached(
        &mut self,
        horizon_millis: i64,
    ) -> Result<(), ProcessError> {
        let unreached = self.engine.take_unreached();
        let mut conveyances = std::collections::BTreeMap::new();
        for event in &unreached {
            let key = event_key(event);
            if !self
                .owned
                .contains(&partition_of(&key, self.layout.shipments))
            {
                continue;
            }
            let reason = unreached_reason(event, horizon_millis, self.config.retention);
            let origin = format!("processor:trim@{horizon_millis}");
            self.producer.send(
                &self.config.topics.deadletter(),
                Some(crate::engine::home_of(event).as_bytes()),
                &protobuf::encode_event(event),
                Some(kouan_bus::headers::rejection_headers(&reason, &origin)),
            )?;
            self.stats.late_unreached.fetch_add(1, Ordering::Relaxed);
            *conveyances
                .entry(crate::engine::home_of(event).to_string())
                .or_insert(0usize) += 1;
        }
        for (conveyance, events) in conveyances {
            tracing::warn!(
                conveyance,
                events,
                horizon_millis,
                "events of a conveyance nothing reached dead-lettered at the horizon"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_reasons_name_the_horizon_and_what_was_late() {
        let day = Duration::from_secs(86_400);
        let reason = forgotten_reason("ZZHH1", Some(1_763_600_000_000), 30 * day);
        assert!(reason.starts_with("late: shipment ZZHH1 finished at 2025-11-20T00:53:20"));
        assert!(reason.contains("--retention 30days"), "{reason}");
        let unknown = forgotten_reason("ZZHH1", None, day);
        assert!(
            unknown.contains("finished at a time not recorded"),
            "{unknown}"
        );
    }
}
