//! NDJSON -> protobuf -> NDJSON is lossless for generated events of every body kind, and neither
//! decoder panics on arbitrary bytes.

use kouan_model::ids::{make_awb, make_container_number};
use kouan_model::*;
use proptest::prelude::*;

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // 2020..2035, whole seconds or milliseconds, offsets in quarter hours within ±14 h.
    (
        1_577_836_800i64..2_051_222_400,
        prop_oneof![Just(0u32), (0u32..1000).prop_map(|ms| ms * 1_000_000)],
        -56i32..=56,
    )
        .prop_map(|(seconds, nanos, quarters)| {
            Timestamp::from_parts(seconds, nanos, quarters * 900).unwrap()
        })
}

fn unlocode() -> impl Strategy<Value = String> {
    "[A-Z]{2}[A-Z2-9]{3}"
}

fn container() -> impl Strategy<Value = String> {
    (
        "[A-Z]{3}",
        prop::sample::select(vec!['U', 'J', 'Z']),
        0u32..1_000_000,
    )
        .prop_map(|(owner, category, serial)| make_container_number(&owner, category, serial))
}

fn equipment_reference() -> impl Strategy<Value = String> {
    prop_oneof![container(), "[A-Z]{3}[0-9]{4,5}[A-Z0-9]{2}"]
}

fn awb() -> impl Strategy<Value = String> {
    (0u16..1000, 0u32..10_000_000).prop_map(|(prefix, serial)| make_awb(prefix, serial))
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9 \\-_./\u{4e00}-\u{4e10}]{0,15}"
}

fn weight() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        0.0f64..100_000.0,
        (0u32..100_000).prop_map(f64::from)
    ])
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(all)
}

fn shipment_body() -> impl Strategy<Value = Body> {
    (
        pick(ShipmentEventType::ALL),
        pick(DocumentType::ALL),
        awb(),
        "[A-Z]{4}[0-9]{10}",
        text(),
        (
            pick(ShipmentMode::ALL),
            pick(Direction::ALL),
            unlocode(),
            unlocode(),
            prop::option::of(unlocode()),
        ),
        prop::collection::vec(equipment_reference(), 0..4),
        (
            prop::option::of(0u32..10_000),
            weight(),
            prop::option::of("[0-9]{4,10}"),
        ),
    )
        .prop_map(
            |(
                kind,
                document_type,
                awb,
                waybill,
                shipper,
                (mode, direction, origin, destination, port),
                units,
                (pieces, weight_kg, hs_code),
            )| {
                let shipment_id = if document_type == DocumentType::Awb {
                    awb
                } else {
                    waybill
                };
                Body::from(ShipmentBody {
                    kind,
                    shipment_id,
                    document_type: Some(document_type),
                    shipper: Some(shipper),
                    mode: Some(mode),
                    direction: Some(direction),
                    origin: Some(origin),
                    destination: Some(destination),
                    port_of_entry: port,
                    units,
                    pieces,
                    weight_kg,
                    hs_code,
                })
            },
        )
}

fn equipment_body() -> impl Strategy<Value = Body> {
    (
        pick(EquipmentEventType::ALL),
        equipment_reference(),
        pick(EmptyIndicator::ALL),
        prop::collection::vec("[A-Z]{4}[0-9]{10}", 0..3),
        pick(TransportMode::ALL),
        "[A-Z0-9]{2,6}-2026[0-9]{4}",
        any::<bool>(),
    )
        .prop_map(
            |(
                kind,
                equipment_reference,
                empty_indicator,
                shipment_ids,
                mode,
                reference,
                with_transport,
            )| {
                let needs_transport =
                    matches!(kind, EquipmentEventType::Load | EquipmentEventType::Disc);
                Body::Equipment(EquipmentBody {
                    kind,
                    equipment_reference: equipment_reference.into(),
                    empty_indicator,
                    shipment_ids: shipment_ids.into_iter().map(Into::into).collect(),
                    transport: (needs_transport || with_transport).then_some(TransportRef {
                        mode,
                        reference: reference.into(),
                    }),
                })
            },
        )
}

fn transport_body() -> impl Strategy<Value = Body> {
    (
        pick(TransportEventType::ALL),
        pick(TransportMode::ALL),
        "[A-Z0-9]{2,6}-2026[0-9]{4}",
    )
        .prop_map(|(kind, mode, reference)| {
            Body::Transport(TransportBody {
                kind,
                mode,
                reference: reference.into(),
            })
        })
}

fn air_body() -> impl Strategy<Value = Body> {
    (
        pick(AirStatus::ALL),
        awb(),
        "[A-Z]{2}[0-9]{4}-2026[0-9]{4}",
        any::<bool>(),
        prop::option::of(1u32..500),
        weight(),
    )
        .prop_map(|(status, awb, flight, with_flight, pieces, weight_kg)| {
            let needs_flight = matches!(
                status,
                AirStatus::Man | AirStatus::Dep | AirStatus::Arr | AirStatus::Rcf
            );
            Body::Air(AirBody {
                status,
                awb: awb.into(),
                flight: (needs_flight || with_flight).then_some(flight.into()),
                pieces,
                weight_kg,
            })
        })
}

fn customs_body() -> impl Strategy<Value = Body> {
    (
        pick(CustomsStatus::ALL),
        "[0-9]{18}",
        "[A-Z]{4}[0-9]{10}",
        prop::option::of(pick(Direction::ALL)),
        prop::option::of(pick(CustomsProcedure::ALL)),
    )
        .prop_map(
            |(status, declaration_number, shipment_id, direction, procedure)| {
                Body::Customs(CustomsBody {
                    status,
                    declaration_number: declaration_number.into(),
                    shipment_id: shipment_id.into(),
                    direction,
                    procedure,
                })
            },
        )
}

pub fn event() -> impl Strategy<Value = Event> {
    (
        "[a-z0-9][a-z0-9\\-]{0,20}",
        prop::sample::select(vec!["cgo-cargo", "zz-rail", "single-window", "yard-putian"]),
        timestamp(),
        prop::option::of(0i64..72 * 3600 * 1000),
        prop::option::of(pick(Classifier::ALL)),
        prop::option::of((
            unlocode(),
            prop::option::of(text()),
            prop::option::of(text()),
        )),
        any::<bool>(),
        prop_oneof![
            shipment_body(),
            equipment_body(),
            transport_body(),
            air_body(),
            customs_body()
        ],
    )
        .prop_map(
            |(
                event_id,
                source,
                event_time,
                recorded_after,
                classifier,
                location,
                retracted,
                body,
            )| Event {
                event_id: event_id.into(),
                source: source.into(),
                event_time,
                // Recorded at or after the event, so every classifier passes the ACT rule.
                recorded_time: recorded_after.map(|millis| event_time.plus_millis(millis)),
                classifier,
                location: location.map(|(unlocode, facility, name)| {
                    std::sync::Arc::new(Location {
                        unlocode,
                        facility,
                        name,
                    })
                }),
                retracted,
                body,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn ndjson_protobuf_ndjson_is_lossless(event in event()) {
        let line = ndjson::encode_line(&event);
        let from_json = ndjson::decode_line(line.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e} in {line}")))?;
        prop_assert_eq!(&from_json, &event);
        let bytes = protobuf::encode_event(&from_json);
        let from_proto = protobuf::decode_event(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&from_proto, &event);
        prop_assert_eq!(ndjson::encode_line(&from_proto), line);
    }

    /// The event's protobuf form written straight from it (`kouan_model::event_wire`) is what
    /// prost writes from the generated message, byte for byte.
    #[test]
    fn the_event_writer_writes_what_prost_writes(event in event()) {
        use prost::Message as _;
        prop_assert_eq!(
            protobuf::encode_event(&event),
            protobuf::to_proto(&event).encode_to_vec()
        );
    }

    #[test]
    fn ndjson_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = ndjson::decode_line(&bytes);
    }

    #[test]
    fn protobuf_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = protobuf::decode_event(&bytes);
    }

    /// The in-place reader reads the wire as prost does: valid records, records merged by
    /// concatenation (a message field read twice, a oneof member after another), and damaged
    /// ones (a byte changed, the record cut short) are read alike or refused alike.
    #[test]
    fn the_view_reads_the_wire_as_prost_does(
        first in event(),
        second in event(),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        use kouan_model::event_view::EventView;
        use prost::Message as _;
        let same = |bytes: &[u8]| -> Result<(), TestCaseError> {
            let by_prost = kouan_model::pb::Event::decode(bytes);
            let by_view = EventView::decode(bytes);
            match (&by_prost, &by_view) {
                (Ok(message), Ok(view)) => prop_assert_eq!(view, &EventView::of(message)),
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "prost {:?}, view {:?}", by_prost.is_ok(), by_view.is_ok()),
            }
            Ok(())
        };
        let mut wire = protobuf::encode_event(&first);
        same(&wire)?;
        let mut merged = wire.clone();
        merged.extend(protobuf::encode_event(&second));
        same(&merged)?;
        same(&wire[..cut.index(wire.len())])?;
        let at = position.index(wire.len());
        wire[at] = byte;
        same(&wire)?;
    }

    #[test]
    fn the_view_reads_arbitrary_bytes_as_prost_does(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        use prost::Message as _;
        let by_prost = kouan_model::pb::Event::decode(bytes.as_slice());
        let by_view = kouan_model::event_view::EventView::decode(&bytes);
        prop_assert_eq!(by_prost.is_ok(), by_view.is_ok());
        if let (Ok(message), Ok(view)) = (&by_prost, &by_view) {
            prop_assert_eq!(view, &kouan_model::event_view::EventView::of(message));
        }
    }

    #[test]
    fn mutated_valid_lines_never_panic(event in event(), position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut line = ndjson::encode_line(&event).into_bytes();
        let at = position.index(line.len());
        line[at] = byte;
        let _ = ndjson::decode_line(&line);
        let mut wire = protobuf::encode_event(&event);
        let at = position.index(wire.len());
        wire[at] = byte;
        let _ = protobuf::decode_event(&wire);
    }
}

#[test]
fn every_body_kind_is_generated() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        seen.insert(event().new_tree(&mut runner).unwrap().current().kind());
    }
    assert_eq!(seen.len(), BodyKind::ALL.len());
}
