//! The protobuf decoder never panics, and whatever it accepts survives NDJSON and comes back as
//! the same event.
#![no_main]

use kouan_model::{ndjson, protobuf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = protobuf::decode_event(data) {
        let back = ndjson::decode_line(ndjson::encode_line(&event).as_bytes()).expect("accepted events re-parse");
        assert_eq!(back, event);
    }
});
