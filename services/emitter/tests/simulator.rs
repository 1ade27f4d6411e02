//! The simulator is deterministic, valid, and true to NETWORK.md's shape.

use kouan_emitter::simulator::output::write_lines;
use kouan_emitter::simulator::{SimConfig, Simulator};
use kouan_model::*;
use std::collections::{BTreeMap, HashMap, HashSet};

fn lines(config: SimConfig, count: usize) -> Vec<String> {
    Simulator::new(config)
        .take(count)
        .map(|delivered| delivered.line)
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let config = SimConfig {
        malformed_rate: 0.01,
        ..SimConfig::default()
    };
    let mut first = Vec::new();
    let mut first_truth = Vec::new();
    write_lines(
        &mut Simulator::new(config.clone()),
        40_000,
        &mut first,
        Some(&mut first_truth),
    )
    .unwrap();
    let mut second = Vec::new();
    let mut second_truth = Vec::new();
    write_lines(
        &mut Simulator::new(config.clone()),
        40_000,
        &mut second,
        Some(&mut second_truth),
    )
    .unwrap();
    assert!(first == second, "two runs with seed 1 differ");
    assert!(
        first_truth == second_truth,
        "two truth files with seed 1 differ"
    );
    assert!(!first_truth.is_empty());

    let mut other = Vec::new();
    write_lines(
        &mut Simulator::new(SimConfig { seed: 2, ..config }),
        40_000,
        &mut other,
        None,
    )
    .unwrap();
    assert!(first != other, "another seed gives another scenario");
}

#[test]
fn every_event_is_valid_and_exactly_the_malformed_ones_are_rejected() {
    for delivered in Simulator::new(SimConfig::default()).take(30_000) {
        assert!(!delivered.malformed);
        if let Err(reject) = ndjson::decode_line(delivered.line.as_bytes()) {
            panic!("generated line rejected: {reject}\n{}", delivered.line);
        }
    }

    let config = SimConfig {
        malformed_rate: 0.02,
        ..SimConfig::default()
    };
    let (mut malformed, mut rejected) = (0, 0);
    for delivered in Simulator::new(config).take(30_000) {
        let verdict = ndjson::decode_line(delivered.line.as_bytes());
        assert_eq!(
            verdict.is_err(),
            delivered.malformed,
            "malformed={} but validation said {verdict:?}: {}",
            delivered.malformed,
            delivered.line
        );
        malformed += u64::from(delivered.malformed);
        rejected += u64::from(verdict.is_err());
    }
    assert_eq!(malformed, rejected);
    assert!(
        malformed > 300,
        "about 2% of 30,000 lines are malformed, got {malformed}"
    );
}

#[test]
fn delivery_is_messy_as_configured() {
    let decoded: Vec<Event> = lines(SimConfig::default(), 60_000)
        .iter()
        .map(|line| ndjson::decode_line(line.as_bytes()).unwrap())
        .collect();
    let mut versions: HashMap<(&str, &str), HashSet<String>> = HashMap::new();
    let mut copies: HashMap<String, u32> = HashMap::new();
    for event in &decoded {
        versions
            .entry((&event.source, &event.event_id))
            .or_default()
            .insert(event.recorded_time().to_rfc3339());
        *copies.entry(event.to_json()).or_default() += 1;
    }
    let duplicated = copies.values().filter(|&&n| n > 1).count();
    let corrected = versions.values().filter(|v| v.len() > 1).count();
    let retracted = decoded.iter().filter(|event| event.retracted).count();
    assert!(duplicated > 300, "duplicates: {duplicated}");
    assert!(corrected > 100, "corrections and retractions: {corrected}");
    assert!(retracted > 50, "retractions: {retracted}");
    // out of order: some event recorded earlier arrives after one recorded later
    let inversions = decoded
        .windows(2)
        .filter(|pair| pair[0].recorded_time() > pair[1].recorded_time())
        .count();
    assert!(inversions > 1000, "reordered pairs: {inversions}");
}

/// Quantile by nearest rank.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1]
}

#[test]
fn a_large_run_has_the_shape_of_the_hub() {
    let config = SimConfig::default().tidy();
    let mut simulator = Simulator::new(config.clone());
    let events: Vec<Event> = simulator
        .by_ref()
        .take(400_000)
        .map(|delivered| ndjson::decode_line(delivered.line.as_bytes()).unwrap())
        .collect();
    let truth: Vec<_> = simulator.take_truth().collect();

    // every body kind, classifier and procedure
    let kinds: HashSet<BodyKind> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds.len(), 5, "body kinds: {kinds:?}");
    let classifiers: HashSet<Classifier> = events.iter().map(Event::classifier).collect();
    assert_eq!(classifiers.len(), 3);
    let codes: HashSet<&str> = events.iter().map(|event| event.body.code()).collect();
    for code in [
        "BKD",
        "RCS",
        "MAN",
        "DEP",
        "ARR",
        "RCF",
        "NFD",
        "DLV",
        "LOAD",
        "DISC",
        "GTIN",
        "GTOT",
        "STUF",
        "STRP",
        "DEPARTED",
        "ARRIVED",
        "BORDER_CROSSED",
        "SUMMARY_DECLARED",
        "DECLARED",
        "ACCEPTED",
        "REVIEWED",
        "DUTY_DUE",
        "INSPECTION_NOTICE",
        "INSPECTED",
        "SUSPENDED",
        "REJECTED",
        "RELEASED",
        "CLOSED",
        "BOOKED",
    ] {
        assert!(codes.contains(code), "no {code} in the run");
    }

    // Zhengzhou–Hamburg: from loading at Putian to discharge in Hamburg, per container trip
    let mut by_container: BTreeMap<&str, Vec<(&Event, &EquipmentBody)>> = BTreeMap::new();
    for event in &events {
        if let Body::Equipment(equipment) = &event.body {
            by_container
                .entry(&equipment.equipment_reference)
                .or_default()
                .push((event, equipment));
        }
    }
    let mut trip_days = Vec::new();
    for trips in by_container.values_mut() {
        trips.sort_by_key(|(event, _)| event.event_time);
        let mut loaded_at_zzp = None;
        for (event, equipment) in trips.iter() {
            let at = event.location.as_ref().map(|l| l.unlocode.as_str());
            match (equipment.kind, at) {
                (EquipmentEventType::Load, Some("CNZZP")) => loaded_at_zzp = Some(event.event_time),
                (EquipmentEventType::Disc, Some("DEHAM")) => {
                    if let Some(loaded) = loaded_at_zzp.take() {
                        let days = (event.event_time.unix_millis() - loaded.unix_millis()) as f64
                            / 86_400_000.0;
                        trip_days.push(days);
                    }
                }
                _ => {}
            }
        }
    }
    assert!(
        trip_days.len() > 500,
        "container trips Zhengzhou-Hamburg: {}",
        trip_days.len()
    );
    let within = trip_days
        .iter()
        .filter(|d| (10.0..=25.0).contains(*d))
        .count();
    let share = within as f64 / trip_days.len() as f64;
    assert!(
        share >= 0.90,
        "only {:.1}% of Zhengzhou-Hamburg trips take 10-25 days",
        share * 100.0
    );

    // clearance hours by mode and direction, as STATUS.md defines them
    let mut booking: HashMap<&str, &ShipmentBody> = HashMap::new();
    let mut arrival: HashMap<&str, i64> = HashMap::new();
    let mut unit_arrival: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut declared: HashMap<&str, i64> = HashMap::new();
    let mut released: HashMap<&str, i64> = HashMap::new();
    let mut stuffed: HashMap<&str, &str> = HashMap::new();
    for event in &events {
        let at = event.event_time.unix_millis();
        match &event.body {
            Body::Shipment(shipment) => {
                booking.insert(&shipment.shipment_id, shipment);
            }
            Body::Air(air) if air.status == AirStatus::Arr => {
                arrival.insert(&air.awb, at);
            }
            Body::Equipment(equipment) => {
                let place = event.location.as_ref().map(|l| l.unlocode.as_str());
                if equipment.kind == EquipmentEventType::Disc && place == Some("CNZZP") {
                    unit_arrival
                        .entry(&equipment.equipment_reference)
                        .or_default()
                        .push(at);
                }
                if equipment.kind == EquipmentEventType::Stuf {
                    for shipment in &equipment.shipment_ids {
                        stuffed.insert(shipment, &equipment.equipment_reference);
                    }
                }
            }
            Body::Customs(customs) => match customs.status {
                CustomsStatus::Declared | CustomsStatus::SummaryDeclared => {
                    let first = declared.entry(&customs.shipment_id).or_insert(at);
                    *first = (*first).min(at);
                }
                CustomsStatus::Released => {
                    released.insert(&customs.shipment_id, at);
                }
                _ => {}
            },
            _ => {}
        }
    }
    let mut clearance: BTreeMap<(ShipmentMode, Direction), Vec<f64>> = BTreeMap::new();
    for (shipment_id, release) in &released {
        let Some(booked) = booking.get(shipment_id) else {
            continue;
        };
        let (mode, direction) = (booked.mode.unwrap(), booked.direction.unwrap());
        let start = match direction {
            Direction::Export => declared.get(shipment_id).copied(),
            _ if mode == ShipmentMode::Air => arrival.get(shipment_id).copied(),
            _ => {
                // the train's arrival at Putian: the container's discharge there, before release
                let unit = booked
                    .units
                    .first()
                    .map(String::as_str)
                    .or_else(|| stuffed.get(shipment_id).copied());
                unit.and_then(|unit| unit_arrival.get(unit))
                    .and_then(|times| times.iter().copied().filter(|t| t <= release).max())
            }
        };
        if let Some(start) = start {
            clearance
                .entry((mode, direction))
                .or_default()
                .push(((release - start).max(0)) as f64 / 3_600_000.0);
        }
    }
    // documented in the README (Simulator): medians and p90s drawn from NETWORK.md
    let ranges = [
        (
            (ShipmentMode::Air, Direction::Import),
            (2.0, 8.0),
            (8.0, 30.0),
        ),
        (
            (ShipmentMode::Rail, Direction::Import),
            (8.0, 30.0),
            (25.0, 90.0),
        ),
        (
            (ShipmentMode::Air, Direction::Export),
            (0.5, 2.5),
            (1.5, 8.0),
        ),
        (
            (ShipmentMode::Rail, Direction::Export),
            (0.5, 2.5),
            (1.5, 8.0),
        ),
    ];
    for (group, (median_low, median_high), (p90_low, p90_high)) in ranges {
        let hours = clearance
            .get_mut(&group)
            .unwrap_or_else(|| panic!("no clearances for {group:?}"));
        assert!(
            hours.len() > 200,
            "{group:?}: only {} clearances",
            hours.len()
        );
        let median = quantile(hours, 0.5);
        let p90 = quantile(hours, 0.9);
        println!(
            "{group:?}: n={} median {median:.1} h p90 {p90:.1} h",
            hours.len()
        );
        assert!(
            (median_low..=median_high).contains(&median),
            "{group:?} median {median:.1} h"
        );
        assert!(
            (p90_low..=p90_high).contains(&p90),
            "{group:?} p90 {p90:.1} h"
        );
    }

    // anomalies at the configured rate, among shipments booked early enough for theirs to start
    let booked_times: HashMap<&str, i64> = events
        .iter()
        .filter_map(|event| match &event.body {
            Body::Shipment(shipment) => Some((
                shipment.shipment_id.as_str(),
                event.event_time.unix_millis(),
            )),
            _ => None,
        })
        .collect();
    let span_end = booked_times.values().max().copied().unwrap();
    let early: HashSet<&str> = booked_times
        .iter()
        .filter(|(_, &at)| at < span_end - 20 * 86_400_000)
        .map(|(id, _)| *id)
        .collect();
    let anomalous: HashSet<&str> = truth
        .iter()
        .map(|anomaly| anomaly.shipment.as_str())
        .filter(|id| early.contains(id))
        .collect();
    let rate = anomalous.len() as f64 / early.len() as f64;
    println!("anomaly rate {rate:.4} over {} shipments", early.len());
    assert!(early.len() > 3_000, "early shipments: {}", early.len());
    assert!(
        (config.anomaly_rate * 0.65..=config.anomaly_rate * 1.35).contains(&rate),
        "anomaly rate {rate:.4}, configured {}",
        config.anomaly_rate
    );
    let kinds: HashSet<AlertKind> = truth.iter().map(|anomaly| anomaly.kind).collect();
    assert_eq!(kinds.len(), 4, "anomaly kinds: {kinds:?}");
}
