//! A China–Europe block train between Zhengzhou Putian and Hamburg or Duisburg, westbound
//! (export) or eastbound (import), over one of three corridors. The journey is three trains:
//! standard gauge to the gauge-change station, 1520 mm across Kazakhstan/Mongolia/Russia and
//! Belarus, standard gauge again from Małaszewicze. Each gauge change is a transshipment: every
//! container is discharged (`DISC`) from one train and loaded (`LOAD`) onto the next.
//!
//! Containers come from a shared pool, so a container number is reused by later shipments.
//! Full loads (FCL) are linked to their shipment by the booking's `units`; groupage (LCL)
//! containers by `STUF` at the origin and `STRP` at the destination.

use super::customs::{self, Declaration};
use super::network::*;
use super::rail_legs::legs;
use super::wave::*;
use kouan_model::*;

struct Consignment {
    shipment_id: String,
    shipper: &'static str,
    hs_code: &'static str,
}

struct Unit {
    container: String,
    /// Groupage: linked by STUF/STRP rather than by the booking's units.
    groupage: bool,
    consignments: Vec<Consignment>,
}

pub fn train(wave: &mut Wave<'_>, booked_from: i64) {
    let westbound = wave.chance(0.65);
    let corridors: Vec<(Corridor, f64)> = CORRIDORS.iter().map(|c| (*c, c.share)).collect();
    let corridor = *wave.pick_weighted(&corridors);
    let terminal = *wave.pick_weighted(&RAIL_TERMINALS);
    let direction = if westbound {
        Direction::Export
    } else {
        Direction::Import
    };
    let (origin, destination) = if westbound {
        (ZZP, terminal)
    } else {
        (terminal, ZZP)
    };

    // An injected dwell holds the whole train at Małaszewicze or at the gauge change.
    let stuck = wave.chance(wave.anomaly_rate);
    let stuck_at_maw = stuck && wave.chance(0.7);
    let stuck_at_gauge = stuck && !stuck_at_maw;

    wave.registry.next_train += 1;
    let number = 8000 + wave.registry.next_train % 1000;
    let departs = booked_from + wave.uniform_ms(3 * DAY, 6 * DAY);
    let (legs, gauge) = legs(
        wave,
        corridor,
        westbound,
        (origin, destination),
        number,
        departs,
        (stuck_at_gauge, stuck_at_maw),
    );

    // containers and the shipments in them
    let container_count = wave.count(20, 45);
    let mut units = Vec::with_capacity(container_count as usize);
    for _ in 0..container_count {
        let container = wave.registry.take_container(booked_from);
        let groupage = wave.chance(0.4);
        let consignments = if groupage { wave.count(2, 3) } else { 1 };
        let consignments = (0..consignments)
            .map(|_| {
                let shipper = *wave.pick(&SHIPPERS[..]);
                let hs_code = *wave.pick(&HS_CODES[..]);
                Consignment {
                    shipment_id: wave.registry.rail_waybill(direction),
                    shipper,
                    hs_code,
                }
            })
            .collect();
        units.push(Unit {
            container,
            groupage,
            consignments,
        });
    }

    // bookings
    for unit in &units {
        for consignment in &unit.consignments {
            wave.shipments += 1;
            let booked = booked_from + wave.uniform_ms(0, DAY);
            let pieces = wave.count(10, 400);
            let weight = (wave.uniform(2000.0, 24000.0) * 10.0).round() / 10.0;
            wave.actual(
                SOURCE_BOOKING,
                booked,
                None,
                Body::from(ShipmentBody {
                    kind: ShipmentEventType::Booked,
                    shipment_id: consignment.shipment_id.clone(),
                    document_type: Some(DocumentType::RailWaybill),
                    shipper: Some(consignment.shipper.to_string()),
                    mode: Some(ShipmentMode::Rail),
                    direction: Some(direction),
                    origin: Some(origin.unlocode.to_string()),
                    destination: Some(destination.unlocode.to_string()),
                    port_of_entry: None,
                    units: if unit.groupage {
                        Vec::new()
                    } else {
                        vec![unit.container.clone()]
                    },
                    pieces: Some(pieces),
                    weight_kg: Some(weight),
                    hs_code: Some(consignment.hs_code.to_string()),
                }),
            );
            if stuck {
                let (node, start) = if stuck_at_maw {
                    (
                        MAW,
                        if westbound {
                            legs[1].arrives
                        } else {
                            legs[0].arrives
                        },
                    )
                } else {
                    (
                        gauge,
                        if westbound {
                            legs[0].arrives
                        } else {
                            legs[1].arrives
                        },
                    )
                };
                wave.anomaly(&consignment.shipment_id, &node, AlertKind::Dwell, start);
            }
        }
    }

    // the train's planned departure and its movements
    let transport = |reference: &str, kind| {
        Body::Transport(TransportBody {
            kind,
            mode: TransportMode::Rail,
            reference: reference.to_string().into(),
        })
    };
    wave.forecast(
        Classifier::Pln,
        SOURCE_RAIL,
        booked_from,
        departs,
        Some(&origin),
        transport(&legs[0].reference, TransportEventType::Departed),
    );
    for (index, leg) in legs.iter().enumerate() {
        wave.actual(
            SOURCE_RAIL,
            leg.departs,
            Some(&leg.from),
            transport(&leg.reference, TransportEventType::Departed),
        );
        if let Some((border, at)) = &leg.crossing {
            wave.actual(
                SOURCE_RAIL,
                *at,
                Some(border),
                transport(&leg.reference, TransportEventType::BorderCrossed),
            );
        }
        wave.actual(
            SOURCE_RAIL,
            leg.arrives,
            Some(&leg.to),
            transport(&leg.reference, TransportEventType::Arrived),
        );
        if index == legs.len() - 1 {
            // arrival estimates at the destination: one when the last train leaves, a revision later
            let first = leg.arrives + wave.uniform_ms(-12 * HOUR, 12 * HOUR);
            wave.forecast(
                Classifier::Est,
                SOURCE_RAIL,
                leg.departs + HOUR,
                first,
                Some(&leg.to),
                transport(&leg.reference, TransportEventType::Arrived),
            );
            let revised = leg.arrives + wave.uniform_ms(-2 * HOUR, 2 * HOUR);
            let issued = leg.departs + (leg.arrives - leg.departs) * 2 / 3;
            wave.forecast(
                Classifier::Est,
                SOURCE_RAIL,
                issued,
                revised,
                Some(&leg.to),
                transport(&leg.reference, TransportEventType::Arrived),
            );
        }
    }

    // each container: gate in, load, transship twice, discharge, clear, gate out
    let equipment =
        |kind, container: &str, laden: bool, shipment_ids: Vec<Id>, reference: Option<&str>| {
            Body::Equipment(EquipmentBody {
                kind,
                equipment_reference: container.to_string().into(),
                empty_indicator: if laden {
                    EmptyIndicator::Laden
                } else {
                    EmptyIndicator::Empty
                },
                shipment_ids,
                transport: reference.map(|reference| TransportRef {
                    mode: TransportMode::Rail,
                    reference: reference.to_string().into(),
                }),
            })
        };
    let last = &legs[legs.len() - 1];
    for unit in units {
        let ids: Vec<Id> = unit
            .consignments
            .iter()
            .map(|c| Id::from(c.shipment_id.as_str()))
            .collect();
        let gate_in = legs[0].departs - wave.uniform_ms(12 * HOUR, 3 * DAY);
        if unit.groupage {
            let stuffed = gate_in - wave.uniform_ms(2 * HOUR, 12 * HOUR);
            wave.actual(
                SOURCE_YARD,
                stuffed,
                Some(&origin),
                equipment(
                    EquipmentEventType::Stuf,
                    &unit.container,
                    true,
                    ids.clone(),
                    None,
                ),
            );
        }
        wave.actual(
            SOURCE_YARD,
            gate_in,
            Some(&origin),
            equipment(
                EquipmentEventType::Gtin,
                &unit.container,
                true,
                Vec::new(),
                None,
            ),
        );
        if westbound {
            for consignment in &unit.consignments {
                customs::declare(
                    wave,
                    &Declaration {
                        shipment_id: &consignment.shipment_id,
                        direction,
                        mode: ShipmentMode::Rail,
                        port: &ZZP,
                        anchor: gate_in,
                        trouble: None,
                    },
                );
            }
        }
        let mut ready = gate_in;
        for (index, leg) in legs.iter().enumerate() {
            // loaded after it was gated in or discharged from the previous train, before departure
            let window = (leg.departs - ready).max(2 * MINUTE);
            let loaded = ready + (window as f64 * wave.uniform(0.2, 0.8)) as i64;
            wave.actual(
                SOURCE_YARD,
                loaded,
                Some(&leg.from),
                equipment(
                    EquipmentEventType::Load,
                    &unit.container,
                    true,
                    Vec::new(),
                    Some(&leg.reference),
                ),
            );
            let until_next = legs
                .get(index + 1)
                .map_or(4 * HOUR, |next| (next.departs - leg.arrives) / 2);
            let discharged =
                leg.arrives + wave.uniform_ms(MINUTE, (4 * HOUR).min(until_next).max(2 * MINUTE));
            wave.actual(
                SOURCE_YARD,
                discharged,
                Some(&leg.to),
                equipment(
                    EquipmentEventType::Disc,
                    &unit.container,
                    true,
                    Vec::new(),
                    Some(&leg.reference),
                ),
            );
            ready = discharged;
        }
        let arrived = last.arrives;
        let mut release = arrived;
        if !westbound {
            for consignment in &unit.consignments {
                let released = customs::declare(
                    wave,
                    &Declaration {
                        shipment_id: &consignment.shipment_id,
                        direction,
                        mode: ShipmentMode::Rail,
                        port: &ZZP,
                        anchor: arrived,
                        trouble: None,
                    },
                );
                release = release.max(released);
            }
        }
        let gate_out = release.max(arrived + HOUR) + wave.skewed_hours(8.0, 30.0);
        wave.actual(
            SOURCE_YARD,
            gate_out,
            Some(&destination),
            equipment(
                EquipmentEventType::Gtot,
                &unit.container,
                true,
                Vec::new(),
                None,
            ),
        );
        let mut free_from = gate_out;
        if unit.groupage {
            let stripped = gate_out + wave.uniform_ms(3 * HOUR, 20 * HOUR);
            wave.actual(
                SOURCE_YARD,
                stripped,
                Some(&destination),
                equipment(EquipmentEventType::Strp, &unit.container, true, ids, None),
            );
            free_from = stripped;
        }
        let free_from = free_from + wave.uniform_ms(2 * DAY, 8 * DAY);
        wave.registry.return_container(unit.container, free_from);
    }
}
