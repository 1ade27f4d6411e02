//! The code tables between EDIFACT and the event contract, used both ways. Each table is a row
//! of `docs/standards/edifact.md`; a code missing here is rejected with its name, never dropped.

pub use crate::table::{code_of, codes, lookup};
use kouan_model::{CustomsStatus, EquipmentEventType, TransportEventType, TransportMode};

/// Mode of transport (8067, UN/ECE Recommendation 19).
pub const MODES: &[(&str, TransportMode)] = &[
    ("1", TransportMode::Vessel),
    ("2", TransportMode::Rail),
    ("3", TransportMode::Truck),
    ("4", TransportMode::Air),
    ("8", TransportMode::Barge),
];

/// Full/empty indicator (8169).
pub const EMPTY: &str = "4";
pub const FULL: &str = "5";

/// CODECO's document name (1001): gate-in and gate-out reports.
pub const CODECO_DOCUMENTS: &[(&str, EquipmentEventType)] = &[
    ("34", EquipmentEventType::Gtin),
    ("36", EquipmentEventType::Gtot),
];

/// COARRI's document name (1001): discharge and loading reports.
pub const COARRI_DOCUMENTS: &[(&str, EquipmentEventType)] = &[
    ("98", EquipmentEventType::Disc),
    ("46", EquipmentEventType::Load),
];

/// What an IFTSTA status (STS, 4405) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Transport(TransportEventType),
    Equipment(EquipmentEventType),
}

/// IFTSTA status codes. 4405 defers transport statuses to bilateral agreement (Recommendation
/// 24); carriers' IFTSTA guides use the ANSI X12 315 letters, and DCSA's event codes are the
/// ones every container party now knows: kouan reads both, and writes DCSA's.
pub const IFTSTA_STATUSES: &[(&str, Status)] = &[
    ("DEPA", Status::Transport(TransportEventType::Departed)),
    ("ARRI", Status::Transport(TransportEventType::Arrived)),
    ("CROS", Status::Transport(TransportEventType::BorderCrossed)),
    ("LOAD", Status::Equipment(EquipmentEventType::Load)),
    ("DISC", Status::Equipment(EquipmentEventType::Disc)),
    ("GTIN", Status::Equipment(EquipmentEventType::Gtin)),
    ("GTOT", Status::Equipment(EquipmentEventType::Gtot)),
    ("STUF", Status::Equipment(EquipmentEventType::Stuf)),
    ("STRP", Status::Equipment(EquipmentEventType::Strp)),
    ("PICK", Status::Equipment(EquipmentEventType::Pick)),
    ("DROP", Status::Equipment(EquipmentEventType::Drop)),
    ("INSP", Status::Equipment(EquipmentEventType::Insp)),
    ("RSEA", Status::Equipment(EquipmentEventType::Rsea)),
    ("RMVD", Status::Equipment(EquipmentEventType::Rmvd)),
    // ANSI X12 315 letters, as carriers' IFTSTA guides use them
    ("VD", Status::Transport(TransportEventType::Departed)),
    ("RL", Status::Transport(TransportEventType::Departed)),
    ("VA", Status::Transport(TransportEventType::Arrived)),
    ("AR", Status::Transport(TransportEventType::Arrived)),
    ("AE", Status::Equipment(EquipmentEventType::Load)),
    ("AL", Status::Equipment(EquipmentEventType::Load)),
    ("UV", Status::Equipment(EquipmentEventType::Disc)),
    ("UR", Status::Equipment(EquipmentEventType::Disc)),
    ("I", Status::Equipment(EquipmentEventType::Gtin)),
    ("OA", Status::Equipment(EquipmentEventType::Gtot)),
];

/// CUSRES's processing indicator (GIS, 7365): customs administrations publish their own
/// response codes; this is the agreement kouan ships for the China single window's receipts.
pub const CUSRES_STATUSES: &[(&str, CustomsStatus)] = &[
    ("SDC", CustomsStatus::SummaryDeclared),
    ("DEC", CustomsStatus::Declared),
    ("ACC", CustomsStatus::Accepted),
    ("REV", CustomsStatus::Reviewed),
    ("SUP", CustomsStatus::SupplementRequired),
    ("DUT", CustomsStatus::DutyDue),
    ("INN", CustomsStatus::InspectionNotice),
    ("INS", CustomsStatus::Inspected),
    ("SUS", CustomsStatus::Suspended),
    ("REJ", CustomsStatus::Rejected),
    ("REL", CustomsStatus::Released),
    ("CLO", CustomsStatus::Closed),
];

/// Date/time qualifiers (2005) read as the event's time, and the classifier each says.
pub const ACTUAL_TIMES: &[&str] = &["7", "178", "186", "203", "334"];
pub const ESTIMATED_TIMES: &[&str] = &["132", "133"];
/// The document's own date/time: the event's recorded time.
pub const DOCUMENT_TIME: &str = "137";

/// Reference qualifiers (1153) read as the consignments a unit carries (`shipmentIds`) or a
/// customs response answers for.
pub const SHIPMENT_REFERENCES: &[&str] = &["BM", "BN", "AWB"];
/// The customs declaration's number in CUSRES.
pub const DECLARATION_REFERENCE: &str = "ABT";
