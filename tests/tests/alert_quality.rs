//! Alert quality against the simulator's ground truth (seed 21, 300 shipments a day, messy
//! delivery, 220,000 events ≈ 61 simulated days): live-paced, and the same history published at
//! once through the pure pipeline, which must give the live-paced precision and recall within 0.03.

use kouan_e2e::quality::{run, scenario, score, Pace};

const LINES: usize = 220_000;
const TICK: i64 = 10 * 60_000;

#[test]
fn precision_and_recall_against_the_ground_truth() {
    let live = run(scenario(None), LINES, TICK, Pace::Live);
    let live = score("live-paced", &live.updates, &live.truth, live.end);
    assert!(live.precision >= 0.90, "precision {:.3}", live.precision);
    assert!(live.recall >= 0.95, "recall {:.3}", live.recall);
}

/// The history published at once gives the alerts live pacing gives: the clock is the
/// pipeline's event time and each record's whole history is judged.
#[test]
fn history_published_at_once_alerts_as_live() {
    let live = run(scenario(None), LINES, TICK, Pace::Live);
    let live = score("live-paced", &live.updates, &live.truth, live.end);
    let at_once = run(scenario(None), LINES, TICK, Pace::AtOnce);
    let at_once = score("at once", &at_once.updates, &at_once.truth, at_once.end);
    assert!(
        (at_once.precision - live.precision).abs() <= 0.03
            && (at_once.recall - live.recall).abs() <= 0.03,
        "at once {at_once:?}; live {live:?}"
    );
}
