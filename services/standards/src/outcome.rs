//! What one message of an input became: the events it carries, each taken or rejected on its
//! own, so that nothing valid is lost because a neighbour in the same message was invalid.

use crate::zones::SourceZones;
use kouan_model::{validate, Event, Reject, Timestamp};

/// What a parser needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The zone of each source whose times carry no offset.
    pub zones: &'a SourceZones,
    /// The source of messages that name no sender (a Cargo-IMP message without its envelope, a
    /// DCSA event, which names none): `kouan ingest --source`, or the producer of an HTTP intake.
    pub source: Option<&'a str>,
    /// Dates written without a year (Cargo-IMP's `20NOV`) are read in the year that puts them
    /// nearest to this instant: the wall clock when ingesting live, the scenario's time in tests.
    pub reference_time: Timestamp,
}

/// One message: where it is in the input, its text, and what each of its events became.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageOutcome {
    /// Where the message is, in the words of its standard: `interchange 000123 message 4`,
    /// `FSU 2 (line 7)`, `event 3`.
    pub reference: String,
    /// The message's own bytes, for the dead-letter topic.
    pub raw: Vec<u8>,
    /// Each event the message carries, or why one could not be taken; a message that cannot be
    /// read at all has a single rejection.
    pub items: Vec<Result<Event, Reject>>,
}

impl MessageOutcome {
    pub fn new(reference: impl Into<String>, raw: impl Into<Vec<u8>>) -> Self {
        MessageOutcome {
            reference: reference.into(),
            raw: raw.into(),
            items: Vec::new(),
        }
    }

    /// A message rejected whole.
    pub fn rejected(reference: impl Into<String>, raw: impl Into<Vec<u8>>, reject: Reject) -> Self {
        let mut outcome = MessageOutcome::new(reference, raw);
        outcome.items.push(Err(reject));
        outcome
    }

    /// Adds an event after checking it against every rule of the event contract; a broken rule
    /// is reported at `place` (the segment, line or field the value came from).
    pub fn push_checked(&mut self, event: Event, place: &str) {
        let item = match validate::validate(&event) {
            Ok(()) => Ok(event),
            Err(reject) => Err(Reject::new(
                place.to_string(),
                format!("{} {}", reject.field, reject.reason),
            )),
        };
        self.items.push(item);
    }

    pub fn taken(&self) -> impl Iterator<Item = &Event> {
        self.items.iter().filter_map(|item| item.as_ref().ok())
    }

    pub fn rejections(&self) -> impl Iterator<Item = &Reject> {
        self.items.iter().filter_map(|item| item.as_ref().err())
    }
}
