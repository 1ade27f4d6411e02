//! kouan's connectors to the standards real systems speak: pure functions from a message's bytes
//! to the events of the event contract (and rejections naming where and why), and back. No I/O.
//!
//! - [`outcome`]: what one message became — its events, or the rejections naming where and why.
//! - [`table`]: code tables read both ways.
//! - [`zones`]: the configured time zone of each source whose times carry no offset.
//! - [`format`]: the formats kouan reads, and telling them apart by content.
//! - [`edifact`]: UN/EDIFACT interchanges — the syntax (UNA, separators, release character, the
//!   UNB/UNZ and UNH/UNT envelopes) and CODECO, COARRI, IFTSTA and CUSRES, both ways.
//! - [`air`]: one air status made into an event the same way by every air standard.
//! - [`cargo_imp`]: IATA Cargo-IMP FSU status messages, both ways.
//! - [`cargo_xml`]: IATA Cargo-XML XFSU status messages, both ways.
//! - [`dcsa`]: DCSA Track & Trace 2.2 event JSON, both ways.
//! - [`onerecord`]: IATA ONE Record LogisticsEvents (JSON-LD), both ways.
//! - [`write`]: one event in the standard its kind of source would use (the simulator's output).
//!
//! The mapping of each standard to the event contract is a table in `docs/standards/`; the code
//! here follows it line by line.

pub mod air;
pub mod cargo_imp;
pub mod cargo_xml;
pub mod dcsa;
pub mod edifact;
pub mod format;
pub mod onerecord;
pub mod outcome;
pub mod stations;
pub mod table;
pub mod write;
pub mod zones;

pub use format::Format;
pub use outcome::{Context, MessageOutcome};
pub use zones::SourceZones;
