//! Convergence: the streaming engine equals the reference for every shipment, field by field,
//! whatever the order, duplication or partitioning of the input.

use kouan_model::Status;
use kouan_model::*;
use kouan_processor::engine::Owner;
use kouan_processor::{reference, Engine};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

fn stream(events: &[Event]) -> BTreeMap<String, Status> {
    let mut engine = Engine::new();
    let mut affected = BTreeSet::new();
    for event in events {
        engine.apply(event.clone(), &mut affected);
    }
    engine
        .shipments()
        .filter_map(|id| engine.status(id).map(|status| (id.to_string(), status)))
        .collect()
}

/// Streams in batches as the runner does, recomputing only the shipments each batch affected,
/// and keeps the last record computed per shipment: what `kouan.status` would hold. Two engines
/// read everything, each deriving the shipments of one of two partitions, and after each batch
/// parking the shipments derived finished and spilling the container history its shipments do
/// not need, as two instances do. Also returns how many shipments were parked at most.
fn stream_incrementally(events: &[Event], batch: usize) -> (BTreeMap<String, Status>, usize) {
    let mut engines: Vec<Engine> = (0..2)
        .map(|owner| {
            let mut engine = Engine::new();
            engine.set_owner(Some(Owner {
                partitions: 2,
                owned: BTreeSet::from([owner]),
            }));
            engine
        })
        .collect();
    let mut published = BTreeMap::new();
    let mut parked = 0;
    for chunk in events.chunks(batch.max(1)) {
        for engine in &mut engines {
            let mut affected = BTreeSet::new();
            for event in chunk {
                engine.apply(event.clone(), &mut affected);
            }
            affected.retain(|id| engine.owns(id));
            for id in affected {
                match engine.refresh(&id) {
                    Some(status) => published.insert(id, status),
                    None => published.remove(&id),
                };
            }
            engine.spill_unneeded();
            parked = parked.max(engine.shipments_parked());
        }
    }
    (published, parked)
}

fn assert_same(expected: &BTreeMap<String, Status>, actual: &BTreeMap<String, Status>, what: &str) {
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "{what}: shipments differ"
    );
    for (id, status) in expected {
        assert_eq!(status, &actual[id], "{what}: {id} differs");
    }
}

/// Delivery orders a consumer may see: as delivered, reversed, shuffled with duplicates, and
/// interleaved from per-partition streams keyed by natural id.
fn orderings(events: &[Event], seed: u64) -> Vec<(String, Vec<Event>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut reversed = events.to_vec();
    reversed.reverse();
    let mut shuffled: Vec<Event> = events.to_vec();
    for _ in 0..events.len() / 5 {
        let pick = events[rng.random_range(0..events.len())].clone();
        shuffled.push(pick);
    }
    shuffled.shuffle(&mut rng);
    let partitions = 4;
    let mut queues: Vec<Vec<Event>> = vec![Vec::new(); partitions];
    for event in events {
        let key = event.body.natural_key();
        let partition = key
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
            % partitions;
        queues[partition].push(event.clone());
    }
    let mut interleaved = Vec::with_capacity(events.len());
    let mut cursors = vec![0; partitions];
    while interleaved.len() < events.len() {
        let partition = rng.random_range(0..partitions);
        // a consumer reads a few records of one partition at a time
        for _ in 0..rng.random_range(1..20) {
            if cursors[partition] < queues[partition].len() {
                interleaved.push(queues[partition][cursors[partition]].clone());
                cursors[partition] += 1;
            }
        }
    }
    vec![
        ("delivered".into(), events.to_vec()),
        ("reversed".into(), reversed),
        ("shuffled with duplicates".into(), shuffled),
        ("partitioned".into(), interleaved),
    ]
}

fn simulated(seed: u64, lines: usize) -> Vec<Event> {
    kouan_emitter::simulator::sample(seed, 300.0, lines)
}

#[test]
fn simulated_streams_converge_to_the_reference() {
    for seed in [1, 2] {
        let events = simulated(seed, 6_000);
        let expected = reference(&events);
        assert!(expected.len() > 200, "{} shipments", expected.len());
        for (what, ordering) in orderings(&events, seed) {
            assert_same(&expected, &stream(&ordering), &what);
            let (streamed, parked) = stream_incrementally(&ordering, 97);
            assert_same(&expected, &streamed, &format!("{what}, incremental"));
            // finished shipments were derived from the park, and brought back by late events
            assert!(parked > 20, "{what}: {parked} shipments parked");
        }
    }
}

// ---- hand-written scenarios, generated small so that the rules' corners meet ----

fn at(minute: i64) -> Timestamp {
    // 2026-11-20T00:00:00+08:00 plus minutes; a few events in other offsets
    Timestamp::from_parts(1_763_568_000 + minute * 60, 0, 8 * 3600).unwrap()
}

fn location(code: &str) -> Option<Location> {
    Some(Location {
        unlocode: code.into(),
        facility: None,
        name: None,
    })
}

struct Builder {
    events: Vec<Event>,
    next: u32,
}

impl Builder {
    fn push(
        &mut self,
        minute: i64,
        place: Option<&str>,
        classifier: Classifier,
        body: Body,
    ) -> usize {
        self.next += 1;
        self.events.push(Event {
            event_id: format!("e{}", self.next).into(),
            source: if self.next.is_multiple_of(3) {
                "yard".into()
            } else {
                "rail".into()
            },
            event_time: at(minute),
            recorded_time: Some(at(minute + 5)),
            classifier: (classifier != Classifier::Act).then_some(classifier),
            location: place.and_then(location).map(std::sync::Arc::new),
            retracted: false,
            body,
        });
        self.events.len() - 1
    }
}

fn units() -> [String; 3] {
    [
        "CSQU3054383".into(),
        "APZU4812090".into(),
        kouan_model::ids::make_container_number("TGH", 'U', 1),
    ]
}
const TRAINS: [&str; 3] = ["X8001", "W1520", "W1435"];
const PLACES: [&str; 4] = ["CNZZP", "KZDOS", "PLMAW", "DEHAM"];
const SHIPMENTS: [&str; 3] = ["S1", "S2", "S3"];

/// A small random world: three shipments sharing three containers (reuse), three trains
/// (transshipment), STUF/STRP and booking links, customs, estimates, then corrections and
/// retractions of random events.
fn scenario(seed: u64) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = Builder {
        events: Vec::new(),
        next: 0,
    };
    let pool = units();
    let unit = |rng: &mut ChaCha8Rng| pool[rng.random_range(0..pool.len())].clone();
    for shipment in SHIPPERS_AND_SHIPMENTS {
        let (id, shipper) = shipment;
        let units: Vec<String> = (0..rng.random_range(0..3))
            .map(|_| unit(&mut rng))
            .collect();
        let kind = if rng.random_bool(0.8) {
            ShipmentEventType::Booked
        } else {
            ShipmentEventType::Updated
        };
        b.push(
            rng.random_range(0..40),
            None,
            Classifier::Act,
            booking(id, shipper, kind, units, &mut rng),
        );
        if rng.random_bool(0.3) {
            let units: Vec<String> = (0..rng.random_range(0..3))
                .map(|_| unit(&mut rng))
                .collect();
            b.push(
                rng.random_range(0..200),
                None,
                Classifier::Act,
                booking(id, shipper, ShipmentEventType::Updated, units, &mut rng),
            );
        }
        if rng.random_bool(0.1) {
            b.push(
                rng.random_range(100..400),
                None,
                Classifier::Act,
                Body::from(ShipmentBody {
                    kind: ShipmentEventType::Cancelled,
                    shipment_id: id.into(),
                    document_type: None,
                    shipper: None,
                    mode: None,
                    direction: None,
                    origin: None,
                    destination: None,
                    port_of_entry: None,
                    units: vec![],
                    pieces: None,
                    weight_kg: None,
                    hs_code: None,
                }),
            );
        }
        for _ in 0..rng.random_range(0..5) {
            let status = CustomsStatus::ALL[rng.random_range(0..CustomsStatus::ALL.len())];
            b.push(
                rng.random_range(0..400),
                Some("CNZZP"),
                Classifier::Act,
                Body::Customs(CustomsBody {
                    status,
                    declaration_number: "460420261000123456".into(),
                    shipment_id: id.into(),
                    direction: None,
                    procedure: None,
                }),
            );
        }
    }
    for _ in 0..rng.random_range(10..40) {
        let minute = rng.random_range(0..400);
        let place = PLACES[rng.random_range(0..PLACES.len())];
        let classifier = [
            Classifier::Act,
            Classifier::Act,
            Classifier::Act,
            Classifier::Est,
            Classifier::Pln,
        ][rng.random_range(0..5)];
        let body = match rng.random_range(0..10) {
            0..=5 => {
                let kind = [
                    EquipmentEventType::Load,
                    EquipmentEventType::Disc,
                    EquipmentEventType::Load,
                    EquipmentEventType::Disc,
                    EquipmentEventType::Gtin,
                    EquipmentEventType::Gtot,
                    EquipmentEventType::Stuf,
                    EquipmentEventType::Strp,
                ][rng.random_range(0..8)];
                let transport = matches!(kind, EquipmentEventType::Load | EquipmentEventType::Disc)
                    .then(|| TransportRef {
                        mode: TransportMode::Rail,
                        reference: TRAINS[rng.random_range(0..TRAINS.len())].into(),
                    });
                let shipment_ids =
                    if matches!(kind, EquipmentEventType::Stuf | EquipmentEventType::Strp) {
                        vec![SHIPMENTS[rng.random_range(0..SHIPMENTS.len())].into()]
                    } else {
                        vec![]
                    };
                Body::Equipment(EquipmentBody {
                    kind,
                    equipment_reference: unit(&mut rng).into(),
                    empty_indicator: if rng.random_bool(0.85) {
                        EmptyIndicator::Laden
                    } else {
                        EmptyIndicator::Empty
                    },
                    shipment_ids,
                    transport,
                })
            }
            _ => Body::Transport(TransportBody {
                kind: TransportEventType::ALL[rng.random_range(0..3)],
                mode: TransportMode::Rail,
                reference: TRAINS[rng.random_range(0..TRAINS.len())].into(),
            }),
        };
        b.push(minute, Some(place), classifier, body);
    }
    // corrections and retractions of random events; a few identical redeliveries
    let originals = b.events.len();
    for _ in 0..rng.random_range(0..6) {
        let mut version = b.events[rng.random_range(0..originals)].clone();
        let later = rng.random_range(0..30);
        version.recorded_time = Some(version.recorded_time().plus_millis(later * 60_000));
        if rng.random_bool(0.4) {
            version.retracted = true;
        } else {
            version.event_time = version
                .event_time
                .plus_millis(rng.random_range(-60..60) * 60_000);
        }
        b.events.push(version);
    }
    b.events
}

const SHIPPERS_AND_SHIPMENTS: [(&str, &str); 3] = [("S1", "a"), ("S2", "b"), ("S3", "a")];

fn booking(
    id: &str,
    shipper: &str,
    kind: ShipmentEventType,
    units: Vec<String>,
    rng: &mut ChaCha8Rng,
) -> Body {
    let direction =
        [Direction::Import, Direction::Export, Direction::Transit][rng.random_range(0..3)];
    Body::from(ShipmentBody {
        kind,
        shipment_id: id.into(),
        document_type: Some(DocumentType::RailWaybill),
        shipper: Some(shipper.into()),
        mode: Some(ShipmentMode::Rail),
        direction: Some(direction),
        origin: Some("CNZZP".into()),
        destination: Some(PLACES[rng.random_range(1..PLACES.len())].into()),
        port_of_entry: rng.random_bool(0.3).then(|| "PLMAW".into()),
        units,
        pieces: None,
        weight_kg: None,
        hs_code: None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn hand_written_worlds_converge(seed in any::<u64>(), order_seed in any::<u64>()) {
        let events = scenario(seed);
        for event in &events {
            prop_assert!(kouan_model::validate::validate(event).is_ok(), "{:?}", event);
        }
        let expected = reference(&events);
        for (what, ordering) in orderings(&events, order_seed) {
            let (streamed, _) = stream_incrementally(&ordering, 1 + (order_seed % 7) as usize);
            prop_assert_eq!(expected.keys().collect::<Vec<_>>(), streamed.keys().collect::<Vec<_>>(), "{}", what);
            for (id, status) in &expected {
                prop_assert_eq!(status, &streamed[id], "{} {}", what, id);
            }
        }
    }
}
