//! The status record decoder never panics, whatever a topic holds, and what it accepts renders as
//! JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(published) = kouan_model::PublishedStatus::decode(data) {
        let _ = published.status.to_json(published.version, published.updated_at.as_ref());
    }
});
