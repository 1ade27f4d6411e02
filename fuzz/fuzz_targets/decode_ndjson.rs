//! The NDJSON decoder never panics, and whatever it accepts survives protobuf and comes back
//! as the same event.
#![no_main]

use kouan_model::{ndjson, protobuf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = ndjson::decode_line(data) {
        let back = protobuf::decode_event(&protobuf::encode_event(&event)).expect("accepted events re-decode");
        assert_eq!(back, event);
        let again = ndjson::decode_line(ndjson::encode_line(&event).as_bytes()).expect("accepted events re-parse");
        assert_eq!(again, event);
    }
});
