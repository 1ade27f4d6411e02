//! What every standard's fuzz target checks: no bytes make its reader panic, and every event it
//! takes is valid under the event contract and comes back the same from protobuf.

use kouan_model::{protobuf, validate, Timestamp};
use kouan_standards::{Context, Format, SourceZones};

pub fn check(format: Format, data: &[u8]) {
    let zones = SourceZones::default()
        .with("ZZYARD", chrono_tz::Asia::Shanghai)
        .with("CGOFMCZ", chrono_tz::Asia::Shanghai)
        .with("s", chrono_tz::Europe::Berlin);
    let context = Context {
        zones: &zones,
        source: Some("s"),
        reference_time: Timestamp::parse("2026-11-20T00:00:00+08:00").unwrap(),
    };
    for outcome in format.parse(data, &context) {
        for event in outcome.taken() {
            validate::validate(event).expect("taken events are valid");
            let back = protobuf::decode_event(&protobuf::encode_event(event))
                .expect("taken events re-decode");
            assert_eq!(&back, event);
        }
    }
}
