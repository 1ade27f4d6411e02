//! The formats kouan reads, and telling them apart by their first bytes.

use crate::outcome::{Context, MessageOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// kouan's own event contract, one JSON event per line.
    Ndjson,
    /// UN/EDIFACT interchanges (CODECO, COARRI, IFTSTA, CUSRES).
    Edifact,
    /// IATA Cargo-IMP FSU messages.
    CargoImp,
    /// IATA Cargo-XML XFSU status messages.
    CargoXml,
    /// DCSA Track & Trace 2.2 events (a JSON array, or one event).
    Dcsa,
    /// IATA ONE Record LogisticsEvents (JSON-LD).
    OneRecord,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Ndjson,
        Format::Edifact,
        Format::CargoImp,
        Format::CargoXml,
        Format::Dcsa,
        Format::OneRecord,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Edifact => "edifact",
            Format::CargoImp => "cargo-imp",
            Format::CargoXml => "cargo-xml",
            Format::Dcsa => "dcsa",
            Format::OneRecord => "onerecord",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|format| format.name() == name)
    }

    /// The usual file extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Edifact => "edi",
            Format::CargoImp => "fsu",
            Format::CargoXml => "xfsu.xml",
            Format::Dcsa => "dcsa.json",
            Format::OneRecord => "onerecord.json",
        }
    }

    /// The format of `input` by its first bytes: `UNA`/`UNB` is EDIFACT, an `FSU/` line or a
    /// Type B address line is Cargo-IMP, `<` is Cargo-XML, JSON naming ONE Record's vocabulary
    /// (`cargo:` or its IRI) is ONE Record, a JSON array or an object with `eventType` is DCSA,
    /// any other object NDJSON.
    pub fn detect(input: &[u8]) -> Option<Format> {
        let text = String::from_utf8_lossy(&input[..input.len().min(4096)]);
        let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if start.starts_with("UNA") || start.starts_with("UNB") {
            return Some(Format::Edifact);
        }
        if start.starts_with("FSU/")
            || (start.starts_with('Q')
                && start.lines().nth(2).is_some_and(|l| l.starts_with("FSU/")))
        {
            return Some(Format::CargoImp);
        }
        if start.starts_with('<') {
            return Some(Format::CargoXml);
        }
        let json = start.starts_with('[') || start.starts_with('{');
        if json && (start.contains("\"cargo:") || start.contains(crate::onerecord::CARGO)) {
            return Some(Format::OneRecord);
        }
        if start.starts_with('[') {
            return Some(Format::Dcsa);
        }
        if start.starts_with('{') {
            let first_line = start.lines().next().unwrap_or("");
            if first_line.contains("\"eventType\"") && !first_line.contains("\"eventId\"") {
                return Some(Format::Dcsa);
            }
            return Some(Format::Ndjson);
        }
        None
    }

    /// Reads a whole input of a standard format (NDJSON is read line by line by the ingest).
    pub fn parse(self, input: &[u8], context: &Context) -> Vec<MessageOutcome> {
        match self {
            Format::Edifact => crate::edifact::parse(input, context),
            Format::CargoImp => crate::cargo_imp::parse(input, context),
            Format::CargoXml => crate::cargo_xml::parse(input, context),
            Format::Dcsa => crate::dcsa::parse(input, context),
            Format::OneRecord => crate::onerecord::parse(input, context),
            Format::Ndjson => ndjson(input),
        }
    }
}

/// NDJSON read whole, a line a message (the streaming ingest reads it in constant memory).
fn ndjson(input: &[u8]) -> Vec<MessageOutcome> {
    input
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(index, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut outcome = MessageOutcome::new(format!("line {}", index + 1), line);
            outcome.items.push(kouan_model::ndjson::decode_line(line));
            outcome
        })
        .collect()
}
