//! The timetable of a China–Europe block train: its three legs (standard gauge to the gauge
//! change, 1520 mm to Małaszewicze or back, standard gauge again), the borders they cross, and the
//! dwells between them.

use super::network::*;
use super::wave::*;

/// One stop where the train's containers change trains or end their journey.
pub(super) struct Leg {
    pub(super) reference: String,
    pub(super) from: Node,
    pub(super) to: Node,
    pub(super) departs: i64,
    pub(super) arrives: i64,
    /// A border crossed on the way, with when.
    pub(super) crossing: Option<(Node, i64)>,
}

/// Where the train stops and when: the three legs of its journey, with the dwells at the gauge
/// change and at Małaszewicze (long ones when an anomaly is injected there).
#[allow(clippy::too_many_arguments)]
pub(super) fn legs(
    wave: &mut Wave<'_>,
    corridor: Corridor,
    westbound: bool,
    (origin, destination): (Node, Node),
    number: u32,
    departs: i64,
    (stuck_at_gauge, stuck_at_maw): (bool, bool),
) -> (Vec<Leg>, Node) {
    let days = |wave: &mut Wave<'_>, (low, high): (f64, f64)| {
        (wave.uniform(low, high) * DAY as f64) as i64
    };
    let gauge_dwell = |wave: &mut Wave<'_>| {
        if stuck_at_gauge {
            wave.uniform_ms(4 * DAY, 8 * DAY)
        } else {
            // Alashankou: about an hour per train; border procedures within 6 h
            wave.skewed_hours(3.0, 7.0)
        }
    };
    // Małaszewicze: usually 2–3 days, often 5; the 2021 peak saw 10 and up to 16
    let maw_dwell = |wave: &mut Wave<'_>| {
        if stuck_at_maw {
            wave.uniform_ms(10 * DAY, 16 * DAY)
        } else {
            wave.skewed_hours(55.0, 100.0)
        }
    };

    let mut legs = Vec::with_capacity(3);
    let gauge = if westbound {
        corridor.westbound_gauge_change
    } else {
        corridor.eastbound_gauge_change
    };
    if westbound {
        let reach_border = departs + days(wave, corridor.days_to_border);
        let at_gauge = reach_border + wave.uniform_ms(HOUR, 3 * HOUR);
        let leg2_departs = at_gauge + gauge_dwell(wave);
        let at_brest = leg2_departs + days(wave, corridor.days_to_brest);
        let at_maw = at_brest + wave.uniform_ms(2 * HOUR, 6 * HOUR);
        let leg3_departs = at_maw + maw_dwell(wave);
        let at_terminal = leg3_departs + days(wave, (1.4, 2.2));
        let date = local_date(departs, &ZZP);
        legs.push(Leg {
            reference: format!("X{number}-{date}"),
            from: ZZP,
            to: gauge,
            departs,
            arrives: at_gauge,
            crossing: Some((corridor.china_border, reach_border)),
        });
        legs.push(Leg {
            reference: format!("W1520-{number}-{date}"),
            from: gauge,
            to: MAW,
            departs: leg2_departs,
            arrives: at_maw,
            crossing: Some((BRE, at_brest)),
        });
        legs.push(Leg {
            reference: format!("W1435-{number}-{date}"),
            from: MAW,
            to: destination,
            departs: leg3_departs,
            arrives: at_terminal,
            crossing: None,
        });
    } else {
        let at_maw = departs + days(wave, (1.4, 2.2));
        let leg2_departs = at_maw + maw_dwell(wave);
        let at_brest = leg2_departs + wave.uniform_ms(2 * HOUR, 6 * HOUR);
        let at_border = at_brest + days(wave, corridor.days_to_brest);
        let at_gauge = at_border + wave.uniform_ms(HOUR, 3 * HOUR);
        let leg3_departs = at_gauge + gauge_dwell(wave);
        let at_zzp = leg3_departs + days(wave, corridor.days_to_border);
        let date = local_date(departs, &origin);
        // the 1520 mm train crosses into China only where the gauge changes on the Chinese side
        let (leg2_border, leg3_border) = if gauge.unlocode.starts_with("CN") {
            (corridor.foreign_border, None)
        } else {
            (BRE, Some((corridor.china_border, leg3_departs + HOUR)))
        };
        let leg2_crossing = if leg2_border.unlocode == "BYBRE" {
            at_brest
        } else {
            at_border
        };
        legs.push(Leg {
            reference: format!("E1435-{number}-{date}"),
            from: origin,
            to: MAW,
            departs,
            arrives: at_maw,
            crossing: None,
        });
        legs.push(Leg {
            reference: format!("E1520-{number}-{date}"),
            from: MAW,
            to: gauge,
            departs: leg2_departs,
            arrives: at_gauge,
            crossing: Some((leg2_border, leg2_crossing)),
        });
        legs.push(Leg {
            reference: format!("X{number}-{}", local_date(leg3_departs, &gauge)),
            from: gauge,
            to: ZZP,
            departs: leg3_departs,
            arrives: at_zzp,
            crossing: leg3_border,
        });
    }
    (legs, gauge)
}
