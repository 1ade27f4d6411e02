//! Events as EDIFACT messages in an interchange (the simulator's EDIFACT output): gate moves as
//! CODECO, loading and discharge as COARRI, other container and conveyance statuses as IFTSTA,
//! customs statuses as CUSRES. One event a message; times as format 204 in the sender's zone.

use super::codes::{self, Status};
use super::dates;
use super::syntax::Separators;
use chrono_tz::Tz;
use kouan_model::*;

/// Builds one interchange from a sender's messages.
pub struct InterchangeWriter {
    separators: Separators,
    sender: String,
    zone: Tz,
    messages: Vec<String>,
    prepared: Option<Timestamp>,
}

impl InterchangeWriter {
    pub fn new(separators: Separators, sender: &str, zone: Tz) -> Self {
        InterchangeWriter {
            separators,
            sender: sender.to_string(),
            zone,
            messages: Vec::new(),
            prepared: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// Adds `event` as a message; `false` when no message kouan writes can say it (a booking,
    /// an air event, a plan, a customs status without a transport document).
    pub fn push(&mut self, event: &Event) -> bool {
        let reference = (self.messages.len() + 1).to_string();
        match message(&self.separators, self.zone, &reference, event) {
            Some(text) => {
                self.messages.push(text);
                let recorded = event.recorded_time();
                self.prepared = Some(self.prepared.map_or(recorded, |at| at.max(recorded)));
                true
            }
            None => false,
        }
    }

    /// The interchange under control reference `control`: UNA, UNB, the messages, UNZ.
    pub fn finish(self, control: &str) -> String {
        let s = &self.separators;
        let (e, c, t) = (s.element as char, s.component as char, s.segment as char);
        let prepared = self
            .prepared
            .unwrap_or(Timestamp::from_unix_millis(0).expect("epoch"));
        let local = prepared.to_datetime().with_timezone(&self.zone);
        let mut out = s.una();
        out.push_str(&format!(
            "UNB{e}UNOC{c}3{e}{}{e}KOUAN{e}{}{c}{}{e}{}{t}\n",
            s.escape(&self.sender),
            local.format("%y%m%d"),
            local.format("%H%M"),
            s.escape(control),
        ));
        for message in &self.messages {
            out.push_str(message);
        }
        out.push_str(&format!(
            "UNZ{e}{}{e}{}{t}\n",
            self.messages.len(),
            s.escape(control)
        ));
        out
    }
}

/// Whether a message kouan writes can say `event` exactly.
pub fn says(event: &Event, zone: Tz) -> bool {
    message(&Separators::default(), zone, "1", event).is_some()
}

/// What kind of message says `event`, and its document code.
fn kind_of(event: &Event) -> Option<(&'static str, &'static str)> {
    match &event.body {
        Body::Equipment(equipment) => Some(
            match (
                codes::code_of(codes::CODECO_DOCUMENTS, equipment.kind),
                codes::code_of(codes::COARRI_DOCUMENTS, equipment.kind),
            ) {
                (Some(document), _) => ("CODECO", document),
                (None, Some(document)) => ("COARRI", document),
                (None, None) => ("IFTSTA", "23"),
            },
        ),
        Body::Transport(_) => Some(("IFTSTA", "23")),
        Body::Customs(_) => Some(("CUSRES", "962")),
        Body::Shipment(_) | Body::Air(_) => None,
    }
}

fn message(s: &Separators, zone: Tz, reference: &str, event: &Event) -> Option<String> {
    if event.classifier() == Classifier::Pln {
        return None;
    }
    let (kind, document) = kind_of(event)?;
    let (e, c, t) = (s.element as char, s.component as char, s.segment as char);
    let esc = |value: &str| s.escape(value);
    let time = |at: Timestamp| dates::write_204(at, zone);
    let exact = event.event_time.subsec_nanos() == 0 && event.recorded_time().subsec_nanos() == 0;
    if !exact || event.location.as_ref().is_some_and(|l| l.name.is_some()) {
        return None;
    }
    let estimated = event.classifier() == Classifier::Est;
    let function = if event.retracted { "1" } else { "9" };
    let mut segments = vec![
        format!("UNH{e}{reference}{e}{kind}{c}D{c}95B{c}UN"),
        // A correction is the same document again with a later document time (DTM+137), which
        // is what orders versions; function 1 cancels it.
        format!("BGM{e}{document}{e}{}{e}{function}", esc(&event.event_id)),
        format!("DTM{e}137{c}{}{c}204", time(event.recorded_time())),
    ];
    let transport = match &event.body {
        Body::Equipment(equipment) => equipment.transport.clone(),
        Body::Transport(transport) => Some(TransportRef {
            mode: transport.mode,
            reference: transport.reference.clone(),
        }),
        _ => None,
    };
    if let Some(transport) = &transport {
        let mode = codes::code_of(codes::MODES, transport.mode)?;
        segments.push(format!("TDT{e}20{e}{}{e}{mode}", esc(&transport.reference)));
    }
    if let Some(location) = &event.location {
        let mut loc = format!("LOC{e}165{e}{}{c}139{c}6", esc(&location.unlocode));
        if let Some(facility) = &location.facility {
            loc.push_str(&format!("{e}{}{c}TER{c}ZZZ", esc(facility)));
        }
        segments.push(loc);
    }
    let event_time = time(event.event_time);
    match &event.body {
        Body::Equipment(equipment) => {
            if kind == "IFTSTA" {
                let status =
                    codes::code_of(codes::IFTSTA_STATUSES, Status::Equipment(equipment.kind))?;
                segments.push(format!("STS{e}1{e}{status}"));
            }
            let full = match equipment.empty_indicator {
                EmptyIndicator::Empty => codes::EMPTY,
                EmptyIndicator::Laden => codes::FULL,
            };
            segments.push(format!(
                "EQD{e}CN{e}{}{e}{e}{e}{e}{full}",
                esc(&equipment.equipment_reference)
            ));
            for id in &equipment.shipment_ids {
                let qualifier = if ids::check_awb(id).is_ok() {
                    "AWB"
                } else {
                    "BM"
                };
                segments.push(format!("RFF{e}{qualifier}{c}{}", esc(id)));
            }
            let qualifier = if estimated { "132" } else { "7" };
            segments.push(format!("DTM{e}{qualifier}{c}{event_time}{c}204"));
            if kind != "IFTSTA" {
                segments.push(format!("CNT{e}16{c}1"));
            }
        }
        Body::Transport(transport) => {
            let status = codes::code_of(codes::IFTSTA_STATUSES, Status::Transport(transport.kind))?;
            // STS opens the status group; its time and place follow it
            let header_len = 3;
            let tail: Vec<String> = segments.drain(header_len..).collect();
            segments.push(format!("STS{e}1{e}{status}"));
            let qualifier = match (transport.kind, estimated) {
                (TransportEventType::Arrived, true) => "132",
                (_, true) => "133",
                (TransportEventType::Departed, false) => "186",
                (TransportEventType::Arrived, false) => "178",
                (TransportEventType::BorderCrossed, false) => "7",
            };
            segments.push(format!("DTM{e}{qualifier}{c}{event_time}{c}204"));
            segments.extend(tail);
        }
        Body::Customs(customs) => {
            if estimated {
                return None;
            }
            let status = codes::code_of(codes::CUSRES_STATUSES, customs.status)?;
            let qualifier = if ids::check_awb(&customs.shipment_id).is_ok() {
                "AWB"
            } else {
                "BM"
            };
            segments.push(format!(
                "RFF{e}{}{c}{}",
                codes::DECLARATION_REFERENCE,
                esc(&customs.declaration_number)
            ));
            segments.push(format!("RFF{e}{qualifier}{c}{}", esc(&customs.shipment_id)));
            segments.push(format!("DTM{e}7{c}{event_time}{c}204"));
            segments.push(format!("GIS{e}{status}"));
        }
        Body::Shipment(_) | Body::Air(_) => return None,
    }
    let count = segments.len() + 1;
    segments.push(format!("UNT{e}{count}{e}{reference}"));
    let mut out = String::new();
    for segment in segments {
        out.push_str(&segment);
        out.push(t);
        out.push('\n');
    }
    Some(out)
}
