//! The alert record decoder never panics, whatever a topic holds, and what it accepts renders as
//! JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(alert) = kouan_model::Alert::decode(data) {
        let _ = alert.to_json();
        let back = kouan_model::Alert::decode(&prost::Message::encode_to_vec(&alert.to_proto()))
            .expect("accepted alerts re-decode");
        assert_eq!(back.alert_id, alert.alert_id);
    }
});
