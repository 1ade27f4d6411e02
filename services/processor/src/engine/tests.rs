use super::*;

fn at_cgo(event_id: &str) -> Event {
    kouan_model::ndjson::decode_line(
        format!(
            r#"{{"eventId":"{event_id}","source":"cgo-cargo","eventTime":"2026-11-01T08:00:00+08:00","location":{{"unlocode":"CNCGO","facility":"CGO-NCT"}},"air":{{"status":"RCS","awb":"172-00000092"}}}}"#
        )
        .as_bytes(),
    )
    .expect("a valid event")
}

/// Every held event names the engine's one copy of its place and source, whether applied or
/// restored from a checkpoint.
#[test]
fn held_events_share_their_place_and_source() {
    let shares = |engine: &Engine| {
        let state = engine.state();
        let [a, b] = &state.events[..] else {
            panic!("two events held");
        };
        Arc::ptr_eq(a.location.as_ref().unwrap(), b.location.as_ref().unwrap())
            && Arc::ptr_eq(&a.source, &b.source)
    };
    let mut engine = Engine::new();
    let mut affected = BTreeSet::new();
    engine.apply(at_cgo("e-1"), &mut affected);
    engine.apply(at_cgo("e-2"), &mut affected);
    assert!(shares(&engine));

    let apart = EngineState {
        events: vec![Arc::new(at_cgo("e-1")), Arc::new(at_cgo("e-2"))],
        ..Default::default()
    };
    assert!(!Arc::ptr_eq(
        &apart.events[0].source,
        &apart.events[1].source
    ));
    let restored = Engine::from_state(apart);
    assert!(shares(&restored));
    assert_eq!(
        restored.status("172-00000092"),
        engine.status("172-00000092")
    );
}
