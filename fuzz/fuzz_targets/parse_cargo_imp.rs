//! The reader of Cargo-IMP FSU messages never panics on any bytes, and every event it takes is valid
//! under the event contract and survives protobuf as the same event.
#![no_main]

use kouan_model::{protobuf, validate, Timestamp};
use kouan_standards::{Context, Format, SourceZones};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let zones = SourceZones::default()
        .with("ZZYARD", chrono_tz::Asia::Shanghai)
        .with("CGOFMCZ", chrono_tz::Asia::Shanghai)
        .with("s", chrono_tz::Europe::Berlin);
    let context = Context {
        zones: &zones,
        source: Some("s"),
        reference_time: Timestamp::parse("2026-11-20T00:00:00+08:00").unwrap(),
    };
    for outcome in Format::CargoImp.parse(data, &context) {
        for event in outcome.taken() {
            validate::validate(event).expect("taken events are valid");
            let back = protobuf::decode_event(&protobuf::encode_event(event)).expect("taken events re-decode");
            assert_eq!(&back, event);
        }
    }
});
