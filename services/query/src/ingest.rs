//! Events pushed by the systems that produce them, in kouan's NDJSON or in a standard
//! (`POST /v1/intake/{format}`, and DCSA subscription callbacks): read by `kouan-standards`,
//! held to the producer's own sources, written to the event topics (rejections to the
//! dead-letter topic), and answered message by message.
//!
//! - [`callbacks`]: the DCSA subscriptions kouan holds at carriers, and their signatures.
//! - [`writer`]: the Kafka side, which answers only once the broker has every record.

pub mod callbacks;
pub mod writer;

use crate::auth::Caller;
use kouan_model::Reject;
use kouan_standards::MessageOutcome;
use serde::Serialize;
use utoipa::ToSchema;

/// Holds every event to the sources the caller publishes as: an event naming another source
/// becomes a rejection saying so, and goes to the dead-letter topic like any other.
pub fn admit(outcomes: &mut [MessageOutcome], sources: &[std::sync::Arc<str>]) {
    for outcome in outcomes {
        let reference = outcome.reference.clone();
        for item in &mut outcome.items {
            let Ok(event) = item else { continue };
            if sources.iter().any(|own| **own == *event.source) {
                continue;
            }
            let allowed: Vec<&str> = sources.iter().map(|s| &**s).collect();
            *item = Err(Reject::new(
                reference.clone(),
                format!(
                    "source {:?} is not one this token publishes as ({})",
                    event.source,
                    allowed.join(", ")
                ),
            ));
        }
    }
}

/// The source given to messages that name none: `?source=` when it is one of the caller's, the
/// caller's only source when it has one, otherwise none (such messages are then rejected).
pub fn default_source<'a>(
    caller: &'a Caller,
    asked: Option<&str>,
) -> Result<Option<&'a str>, String> {
    let sources = caller.sources();
    match asked {
        Some(asked) => sources
            .iter()
            .find(|own| ***own == *asked)
            .map(|own| Some(&**own))
            .ok_or_else(|| format!("source {asked:?} is not one this token publishes as")),
        None if sources.len() == 1 => Ok(Some(&sources[0])),
        None => Ok(None),
    }
}

/// `POST /v1/intake/{format}`: what became of each message.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeAnswer {
    /// The format read (as given in the path).
    pub format: String,
    /// Events written to the event topics.
    pub taken: usize,
    /// Events (or whole messages) rejected, each also on the dead-letter topic.
    pub rejected: usize,
    pub messages: Vec<MessageAnswer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageAnswer {
    /// Where the message is, in its standard's words (`interchange 000123 message 4`).
    pub message: String,
    pub taken: usize,
    pub rejected: Vec<Rejection>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rejection {
    /// The segment, line, element or field at fault.
    #[serde(rename = "where")]
    pub place: String,
    pub reason: String,
}

impl IntakeAnswer {
    pub fn of(format: &str, outcomes: &[MessageOutcome]) -> Self {
        let messages: Vec<MessageAnswer> = outcomes
            .iter()
            .map(|outcome| MessageAnswer {
                message: outcome.reference.clone(),
                taken: outcome.taken().count(),
                rejected: outcome
                    .rejections()
                    .map(|reject| Rejection {
                        place: reject.field.clone(),
                        reason: reject.reason.clone(),
                    })
                    .collect(),
            })
            .collect();
        IntakeAnswer {
            format: format.to_string(),
            taken: messages.iter().map(|m| m.taken).sum(),
            rejected: messages.iter().map(|m| m.rejected.len()).sum(),
            messages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Auth;
    use kouan_standards::{Context, Format, SourceZones};

    #[test]
    fn a_producer_writes_only_as_its_own_sources() {
        let auth =
            Auth::parse("pr-secret-1 producer carrier-a\npr-secret-2 producer a,b\n").unwrap();
        let one = auth.caller("pr-secret-1").unwrap();
        let two = auth.caller("pr-secret-2").unwrap();
        assert_eq!(default_source(one, None), Ok(Some("carrier-a")));
        assert_eq!(default_source(two, None), Ok(None));
        assert_eq!(default_source(two, Some("b")), Ok(Some("b")));
        assert!(default_source(two, Some("carrier-a")).is_err());

        let line = br#"{"eventId":"e1","source":"carrier-b","eventTime":"2026-11-20T08:00:00+08:00","transport":{"type":"DEPARTED","mode":"RAIL","reference":"X8001-20261120"}}"#;
        let zones = SourceZones::default();
        let context = Context {
            zones: &zones,
            source: None,
            reference_time: kouan_model::Timestamp::from_unix_millis(0).unwrap(),
        };
        let mut outcomes = Format::Ndjson.parse(line, &context);
        assert_eq!(outcomes[0].taken().count(), 1, "{:?}", outcomes[0].items);
        admit(&mut outcomes, one.sources());
        let answer = IntakeAnswer::of("ndjson", &outcomes);
        assert_eq!((answer.taken, answer.rejected), (0, 1));
        assert!(answer.messages[0].rejected[0]
            .reason
            .contains("source \"carrier-b\" is not one this token publishes as (carrier-a)"));
    }
}
