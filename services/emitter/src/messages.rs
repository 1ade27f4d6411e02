//! `kouan ingest --format edifact|cargo-imp|dcsa`: what a standard's parser made of an input,
//! published — each taken event to its topic, each rejection to the dead-letter topic with the
//! message's own text, its reason and where it was.

use crate::ingest::Outlet;
use crate::sink::EncodedEvent;
use kouan_bus::BusError;
use kouan_standards::MessageOutcome;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MessagesSummary {
    pub messages: u64,
    pub published: u64,
    pub rejected: u64,
    /// True when the run stopped early, between two messages, because it was cancelled.
    pub cancelled: bool,
}

/// Publishes every outcome in order (until `cancel`, between messages); `report` hears of each
/// message as it is published.
pub fn publish(
    outcomes: &[MessageOutcome],
    origin: &str,
    sink: &impl Outlet,
    cancel: &CancellationToken,
    mut report: impl FnMut(&MessageOutcome),
) -> Result<MessagesSummary, BusError> {
    let mut summary = MessagesSummary::default();
    for outcome in outcomes {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        summary.messages += 1;
        for item in &outcome.items {
            match item {
                Ok(event) => {
                    sink.publish(&EncodedEvent::new(event))?;
                    summary.published += 1;
                }
                Err(reject) => {
                    let where_from = format!("{origin}: {}", outcome.reference);
                    sink.reject(&outcome.raw, reject, &where_from)?;
                    summary.rejected += 1;
                }
            }
        }
        report(outcome);
    }
    Ok(summary)
}
