//! UN/EDIFACT interchanges: the syntax and envelopes, CODECO, COARRI, IFTSTA and CUSRES into
//! events, and events back into those messages (`docs/standards/edifact.md`).

pub mod codes;
mod customs;
pub mod dates;
pub mod interchange;
pub mod messages;
pub mod syntax;
pub mod write;

pub use interchange::parse;
