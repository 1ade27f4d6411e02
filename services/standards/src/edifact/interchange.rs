//! The envelopes of an interchange: UNB/UNZ (the interchange, its control reference and its
//! message count) and UNH/UNT (each message, its reference and its segment count), checked
//! before any message is read. A message whose own envelope is broken is rejected whole; a
//! broken interchange envelope is rejected on its own while its complete messages are taken.

use super::messages;
use super::syntax::{segments, Segment};
use crate::outcome::{Context, MessageOutcome};
use kouan_model::{Reject, Timestamp};

/// A message inside its interchange, as the message readers see it.
pub struct Message<'a> {
    /// UNB's sender identification: the events' `source`.
    pub sender: &'a str,
    /// UNB's interchange control reference.
    pub interchange: &'a str,
    /// UNH's message reference number.
    pub reference: &'a str,
    /// UNH's message type (`CODECO`, …).
    pub kind: &'a str,
    /// UNH to UNT.
    pub segments: &'a [Segment],
    /// UNB's date and time of preparation, when it could be read.
    pub prepared: Option<Timestamp>,
}

impl Message<'_> {
    /// `interchange 000123 message 4 segment 7 EQD`: position 1 is UNH.
    pub fn place(&self, segment: &Segment) -> String {
        let position = segment.position - self.segments[0].position + 1;
        format!(
            "interchange {} message {} segment {} {}",
            self.interchange, self.reference, position, segment.tag
        )
    }

    pub fn reject(&self, segment: &Segment, reason: impl Into<String>) -> Reject {
        Reject::new(self.place(segment), reason)
    }
}

/// Every message of every interchange in `input`, in order.
pub fn parse(input: &[u8], context: &Context) -> Vec<MessageOutcome> {
    let (found, syntax_error) = segments(input);
    let mut outcomes = Vec::new();
    let mut at = 0;
    while at < found.len() {
        at = interchange(input, &found, at, context, &mut outcomes);
    }
    if let Some(error) = syntax_error {
        let reference = format!("segment {}", error.position);
        outcomes.push(MessageOutcome::rejected(
            reference.clone(),
            input[error.offset..]
                .iter()
                .take(4096)
                .copied()
                .collect::<Vec<_>>(),
            Reject::new(reference, error.reason),
        ));
    }
    outcomes
}

/// Reads the interchange starting at `found[start]`; returns where the next one starts.
fn interchange(
    input: &[u8],
    found: &[Segment],
    start: usize,
    context: &Context,
    outcomes: &mut Vec<MessageOutcome>,
) -> usize {
    let unb = &found[start];
    if unb.tag != "UNB" {
        // Skip to the next UNB: everything up to it is outside any interchange.
        let end = found[start..]
            .iter()
            .position(|segment| segment.tag == "UNB")
            .map_or(found.len(), |offset| start + offset);
        let reference = format!("segment {}", unb.position);
        outcomes.push(MessageOutcome::rejected(
            reference.clone(),
            &input[unb.start..found[end - 1].end],
            Reject::new(
                format!("{reference} {}", unb.tag),
                "expected UNB: an interchange starts with its header",
            ),
        ));
        return end;
    }
    let control = unb.get(4, 0).unwrap_or("");
    let sender = unb.get(1, 0).unwrap_or("");
    let label = format!("interchange {control}");
    if control.is_empty() || sender.is_empty() {
        let end = next_interchange(found, start);
        outcomes.push(MessageOutcome::rejected(
            label.clone(),
            &input[unb.start..found[end - 1].end],
            Reject::new(
                format!("{label} segment 1 UNB"),
                "the interchange header needs its sender (element 2) and control reference (element 5)",
            ),
        ));
        return end;
    }
    let separators = &unb.separators;
    let prepared = match (unb.get(3, 0), unb.get(3, 1)) {
        (Some(date), Some(time)) => {
            super::dates::preparation(date, time, sender, context.zones).ok()
        }
        _ => None,
    };
    // What a rejected message goes to the dead-letter topic as: an interchange of its own.
    let unb_text = &input[unb.start..unb.end];
    let standalone = |message: &[u8]| {
        let mut raw = separators.una().into_bytes();
        raw.extend_from_slice(unb_text);
        raw.extend_from_slice(message);
        raw.extend_from_slice(
            format!(
                "UNZ{}1{}{}{}",
                separators.element as char,
                separators.element as char,
                separators.escape(control),
                separators.segment as char
            )
            .as_bytes(),
        );
        raw
    };

    let mut at = start + 1;
    let mut messages_seen = 0u64;
    loop {
        let Some(segment) = found.get(at) else {
            outcomes.push(MessageOutcome::rejected(
                label.clone(),
                unb_text,
                Reject::new(
                    label.clone(),
                    "the input ends before the interchange trailer UNZ; the complete messages before it were read",
                ),
            ));
            return at;
        };
        match segment.tag.as_str() {
            "UNH" => {
                let end = found[at + 1..]
                    .iter()
                    .position(|s| matches!(s.tag.as_str(), "UNT" | "UNH" | "UNZ" | "UNB"))
                    .map_or(found.len(), |offset| at + 1 + offset);
                messages_seen += 1;
                let reference = segment.get(0, 0).unwrap_or("");
                let message_label = format!("{label} message {reference}");
                let closed = found.get(end).is_some_and(|s| s.tag == "UNT");
                let last = if closed { end } else { end - 1 };
                let raw = standalone(&input[segment.start..found[last].end]);
                if !closed {
                    outcomes.push(MessageOutcome::rejected(
                        message_label.clone(),
                        raw,
                        Reject::new(
                            format!("{message_label} segment 1 UNH"),
                            "the message has no trailer UNT before the next message or the interchange's end",
                        ),
                    ));
                    at = end;
                    continue;
                }
                let unt = &found[end];
                let count = end - at + 1;
                let problem = envelope_problem(segment, unt, count);
                let message = Message {
                    sender,
                    interchange: control,
                    reference,
                    kind: segment.get(1, 0).unwrap_or(""),
                    segments: &found[at..=end],
                    prepared,
                };
                let outcome = match problem {
                    Some((on_trailer, reason)) => MessageOutcome::rejected(
                        message_label,
                        raw,
                        message.reject(if on_trailer { unt } else { segment }, reason),
                    ),
                    None => {
                        let mut outcome = MessageOutcome::new(message_label, raw);
                        messages::read(&message, context, &mut outcome);
                        outcome
                    }
                };
                outcomes.push(outcome);
                at = end + 1;
            }
            "UNZ" => {
                let declared = segment.get(0, 0).unwrap_or("");
                let reference = segment.get(1, 0).unwrap_or("");
                let mut problems = Vec::new();
                if declared.parse::<u64>().ok() != Some(messages_seen) {
                    problems.push(format!(
                        "counts {declared:?} messages, the interchange holds {messages_seen}"
                    ));
                }
                if reference != control {
                    problems.push(format!(
                        "control reference {reference:?} differs from UNB's {control:?}"
                    ));
                }
                if !problems.is_empty() {
                    outcomes.push(MessageOutcome::rejected(
                        label.clone(),
                        &input[segment.start..segment.end],
                        Reject::new(
                            format!("{label} UNZ"),
                            format!(
                                "{}; the complete messages were read, a missing one was not",
                                problems.join("; ")
                            ),
                        ),
                    ));
                }
                return at + 1;
            }
            "UNB" => {
                outcomes.push(MessageOutcome::rejected(
                    label.clone(),
                    unb_text,
                    Reject::new(
                        label.clone(),
                        "a new interchange starts before this one's trailer UNZ; the complete messages before it were read",
                    ),
                ));
                return at;
            }
            "UNG" | "UNE" => {
                outcomes.push(MessageOutcome::rejected(
                    label.clone(),
                    &input[segment.start..segment.end],
                    Reject::new(
                        format!("{label} {}", segment.tag),
                        "functional groups are not read: send the messages directly in the interchange",
                    ),
                ));
                at += 1;
            }
            other => {
                outcomes.push(MessageOutcome::rejected(
                    label.clone(),
                    &input[segment.start..segment.end],
                    Reject::new(
                        format!("{label} segment {}", segment.position),
                        format!("{other} outside any message (expected UNH or UNZ)"),
                    ),
                ));
                at += 1;
            }
        }
    }
}

fn next_interchange(found: &[Segment], start: usize) -> usize {
    found[start + 1..]
        .iter()
        .position(|segment| segment.tag == "UNB")
        .map_or(found.len(), |offset| start + 1 + offset)
}

/// What is wrong with a message's own envelope, and whether it is the trailer's fault.
fn envelope_problem(unh: &Segment, unt: &Segment, count: usize) -> Option<(bool, String)> {
    let reference = unh.get(0, 0).unwrap_or("");
    if reference.is_empty() {
        return Some((false, "the message header has no message reference".into()));
    }
    let declared = unt.get(0, 0).unwrap_or("");
    if declared.parse::<usize>().ok() != Some(count) {
        return Some((
            true,
            format!("counts {declared:?} segments, the message has {count} (UNH to UNT)"),
        ));
    }
    let trailer_reference = unt.get(1, 0).unwrap_or("");
    if trailer_reference != reference {
        return Some((
            true,
            format!("message reference {trailer_reference:?} differs from UNH's {reference:?}"),
        ));
    }
    let (version, release) = (unh.get(1, 1).unwrap_or(""), unh.get(1, 2).unwrap_or(""));
    if version != "D" || !directory_is_read(release) {
        return Some((
            false,
            format!("directory {version}.{release} is not read: kouan reads D.95B onwards"),
        ));
    }
    None
}

/// D.95B onwards: `95B`…`99B`, then `00A`… (two-digit years below 95 are this century).
fn directory_is_read(release: &str) -> bool {
    let bytes = release.as_bytes();
    if bytes.len() != 3
        || !bytes[..2].iter().all(u8::is_ascii_digit)
        || !bytes[2].is_ascii_uppercase()
    {
        return false;
    }
    let year: u32 = release[..2].parse().unwrap_or(0);
    let year = if year >= 90 { 1900 + year } else { 2000 + year };
    (year, bytes[2]) >= (1995, b'B')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_from_d95b_on_are_read() {
        for release in ["95B", "96A", "00B", "16A", "21A"] {
            assert!(directory_is_read(release), "{release}");
        }
        for release in ["95A", "93A", "9", "X5B"] {
            assert!(!directory_is_read(release), "{release}");
        }
    }
}
