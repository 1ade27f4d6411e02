//! The reader of UN/EDIFACT interchanges: see [`standard::check`].
#![no_main]

mod standard;

use kouan_standards::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| standard::check(Format::Edifact, data));
