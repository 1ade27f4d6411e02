//! Dwell baselines per (node, mode, stage), learned from completed dwells: the median and the
//! median absolute deviation (MAD) of the latest samples' log-hours. Dwell times are skewed,
//! roughly log-normal (NETWORK.md): on log-hours the median and MAD describe the bulk without
//! being dragged by the tail, and the modified z-score (Iglewicz–Hoaglin, 0.6745·(x − median)/MAD)
//! flags a dwell in proportion to how it compares with the usual ones. A baseline is trusted only
//! after enough samples.

use crate::state::{BaselineRecord, DwellSample};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// Where a dwell happens: the node, the shipment's mode and its transport stage there.
pub type BaselineKey = (String, String, String);

/// A trusted baseline, on log-hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Learned {
    pub median_log: f64,
    pub mad_log: f64,
    pub samples: usize,
}

impl Learned {
    /// The dwell whose modified z-score is `z`: `exp(median + z · MAD / 0.6745)` hours.
    pub fn threshold_hours(&self, z: f64) -> f64 {
        (self.median_log + z * self.mad_log / 0.6745).exp()
    }

    pub fn median_hours(&self) -> f64 {
        self.median_log.exp()
    }

    pub fn describe(&self) -> String {
        format!(
            "baseline median {:.1}h mad x{:.2} n={}",
            self.median_hours(),
            self.mad_log.exp(),
            self.samples
        )
    }
}

/// Dwells shorter than three minutes count as three minutes (the log of zero is no use).
const SHORTEST_HOURS: f64 = 0.05;

#[derive(Debug)]
pub struct Baselines {
    window: usize,
    min_samples: usize,
    /// Per key: (start, end, log-hours) of the latest dwells. Shipments on one train dwell
    /// together; a dwell with the same start and end as one already kept is the same dwell and
    /// counts once, or a single train would make a baseline.
    samples: HashMap<BaselineKey, VecDeque<(i64, i64, f64)>>,
    /// Keys changed since the last [`Baselines::take_dirty`].
    dirty: BTreeSet<BaselineKey>,
    /// What [`Baselines::learned_before`] worked out, per key until its window changes. Every
    /// judgement of a dwell asks it (several times per record), and working it out sorts the
    /// window: uncached, a replay of 30 days spent most of the alerter's time sorting.
    cache: RefCell<HashMap<BaselineKey, Cached>>,
}

/// One key's window ordered by end, and the baselines of its prefixes asked for so far: the
/// dwells ended by a moment are always such a prefix.
#[derive(Debug, Default)]
struct Cached {
    by_end: Vec<(i64, f64)>,
    /// By prefix length.
    learned: HashMap<usize, Option<Learned>>,
}

impl Baselines {
    pub fn new(window: usize, min_samples: usize) -> Self {
        Baselines {
            window,
            min_samples,
            samples: HashMap::new(),
            dirty: BTreeSet::new(),
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// Records one completed dwell, from `start` to `end` (Unix ms).
    pub fn observe(&mut self, key: BaselineKey, start: i64, end: i64) {
        if end < start {
            return;
        }
        let samples = self.samples.entry(key.clone()).or_default();
        if samples.iter().any(|(s, e, _)| *s == start && *e == end) {
            return;
        }
        self.cache.get_mut().remove(&key);
        self.dirty.insert(key);
        if samples.len() == self.window {
            samples.pop_front();
        }
        let hours = (end - start) as f64 / 3_600_000.0;
        samples.push_back((start, end, hours.max(SHORTEST_HOURS).ln()));
    }

    /// The keys changed since the last call.
    pub fn take_dirty(&mut self) -> Vec<BaselineKey> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    /// A key's window as a changelog record, oldest dwell first.
    pub fn record_of(&self, key: &BaselineKey) -> BaselineRecord {
        let (node, mode, stage) = key.clone();
        BaselineRecord {
            node,
            mode,
            stage,
            samples: self
                .samples
                .get(key)
                .into_iter()
                .flatten()
                .map(|&(start, end, _)| DwellSample { start, end })
                .collect(),
        }
    }

    /// Takes back a key's window: the dwells observed again in their order give the same window.
    pub fn restore(&mut self, record: BaselineRecord) {
        let key = (record.node, record.mode, record.stage);
        self.samples.remove(&key);
        self.cache.get_mut().remove(&key);
        for sample in record.samples {
            self.observe(key.clone(), sample.start, sample.end);
        }
        self.dirty.remove(&key);
    }

    /// The learned baseline, once trusted.
    pub fn learned(&self, key: &BaselineKey) -> Option<Learned> {
        self.learned_before(key, i64::MAX)
    }

    /// How many of the dwells kept ended after `from` and by `to`.
    pub fn ended_between(&self, key: &BaselineKey, from: i64, to: i64) -> usize {
        self.samples.get(key).map_or(0, |samples| {
            samples
                .iter()
                .filter(|(_, end, _)| *end > from && *end <= to)
                .count()
        })
    }

    /// The baseline of the dwells kept that had ended by `moment` (Unix ms), once trusted: what
    /// a dwell passing its threshold at `moment` is judged against. Judged so, a dwell's verdict does not
    /// depend on the order the records arrive in: replaying history, the records showing a train
    /// held at a border (each container its own dwell, ending minutes apart) come together, and
    /// the first ones read would otherwise lift the baseline the others are judged against —
    /// live, each is judged while it lasts, before any of them ended.
    pub fn learned_before(&self, key: &BaselineKey, moment: i64) -> Option<Learned> {
        let samples = self.samples.get(key)?;
        let mut cache = self.cache.borrow_mut();
        let cached = cache.entry(key.clone()).or_insert_with(|| {
            let mut by_end: Vec<(i64, f64)> =
                samples.iter().map(|&(_, end, log)| (end, log)).collect();
            by_end.sort_by_key(|&(end, _)| end);
            Cached {
                by_end,
                learned: HashMap::new(),
            }
        });
        let ended = cached.by_end.partition_point(|&(end, _)| end <= moment);
        if ended < self.min_samples {
            return None;
        }
        let Cached { by_end, learned } = cached;
        *learned.entry(ended).or_insert_with(|| {
            let mut logs: Vec<f64> = by_end[..ended].iter().map(|&(_, log)| log).collect();
            let median = median_in_place(&mut logs);
            for log in &mut logs {
                *log = (*log - median).abs();
            }
            Some(Learned {
                median_log: median,
                mad_log: median_in_place(&mut logs),
                samples: ended,
            })
        })
    }
}

/// The median of `values` (reordering them): the middle one, or the mean of the two middle ones;
/// by selection, not a sort.
fn median_in_place(values: &mut [f64]) -> f64 {
    let odd = values.len() % 2 == 1;
    let (lower, upper, _) = values.select_nth_unstable_by(values.len() / 2, f64::total_cmp);
    let upper = *upper;
    if odd {
        upper
    } else {
        let lower = lower
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .expect("an even count above zero has a lower half");
        (lower + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad_ignore_the_tail() {
        let mut baselines = Baselines::new(100, 5);
        let key = (
            "PLMAW".to_string(),
            "RAIL".to_string(),
            "IN_TRANSIT".to_string(),
        );
        let hour = 3_600_000;
        for (start, hours) in [(0, 50), (1, 55), (2, 60), (3, 52)] {
            baselines.observe(key.clone(), start, start + hours * hour);
        }
        baselines.observe(key.clone(), 3, 3 + 52 * hour);
        assert_eq!(
            baselines.learned(&key),
            None,
            "not trusted before 5 distinct dwells"
        );
        baselines.observe(key.clone(), 4, 4 + 400 * hour);
        let learned = baselines.learned(&key).unwrap();
        assert!(
            (learned.median_hours() - 55.0).abs() < 1e-9,
            "the 400 h outlier does not move the median"
        );
        // log deviations from ln 55: ln(55/50), ln(55/52), 0, ln(60/55), ln(400/55) -> median ln(60/55)
        assert!((learned.mad_log - (60.0f64 / 55.0).ln()).abs() < 1e-9);
        let threshold = learned.threshold_hours(3.0);
        assert!((threshold - 55.0 * ((60.0f64 / 55.0).ln() * 3.0 / 0.6745).exp()).abs() < 1e-6);
        assert!(threshold > 60.0 && threshold < 400.0, "{threshold}");
        // a dwell that began before the 400 h one ended is judged without it
        let before = baselines.learned_before(&key, 4 + 399 * hour);
        assert_eq!(before, None, "four dwells had ended by then");
        assert_eq!(baselines.learned_before(&key, i64::MAX), Some(learned));
        assert_eq!(
            baselines.ended_between(&key, 4 + 399 * hour, 4 + 400 * hour),
            1
        );
        assert_eq!(baselines.ended_between(&key, 4 + 400 * hour, i64::MAX), 0);
    }

    /// The cached answers follow the window: a new dwell, a restored window.
    #[test]
    fn a_changed_window_is_judged_afresh() {
        let mut baselines = Baselines::new(4, 2);
        let key = (
            "CNCGO".to_string(),
            "AIR".to_string(),
            "RECEIVED".to_string(),
        );
        let hour = 3_600_000;
        baselines.observe(key.clone(), 0, 2 * hour);
        baselines.observe(key.clone(), 0, 8 * hour);
        let two = baselines.learned(&key).unwrap();
        assert!(
            (two.median_hours() - 4.0).abs() < 1e-9,
            "mean of the logs of 2 and 8"
        );
        baselines.observe(key.clone(), 1, 1 + 32 * hour);
        let three = baselines.learned(&key).unwrap();
        assert_eq!(three.samples, 3);
        assert!((three.median_hours() - 8.0).abs() < 1e-9);
        assert_eq!(baselines.learned_before(&key, 8 * hour), Some(two));
        // the window keeps 4: the oldest (2 h) goes
        baselines.observe(key.clone(), 2, 2 + 32 * hour);
        baselines.observe(key.clone(), 3, 3 + 32 * hour);
        assert!((baselines.learned(&key).unwrap().median_hours() - 32.0).abs() < 1e-9);
        assert_eq!(baselines.learned_before(&key, 2 * hour), None);
        let record = baselines.record_of(&key);
        let mut restored = Baselines::new(4, 2);
        restored.learned(&key);
        restored.restore(record.clone());
        assert_eq!(restored.learned(&key), baselines.learned(&key));
        baselines.restore(BaselineRecord {
            samples: record.samples[..1].to_vec(),
            ..record
        });
        assert_eq!(baselines.learned(&key), None, "one dwell is not trusted");
    }

    fn median_of_sorted(sorted: &[f64]) -> f64 {
        let n = sorted.len();
        if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        }
    }

    #[test]
    fn the_median_by_selection_is_the_sorted_median() {
        for values in [
            vec![3.0],
            vec![2.0, 1.0],
            vec![5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 0.5],
        ] {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let mut reordered = values.clone();
            assert_eq!(median_in_place(&mut reordered), median_of_sorted(&sorted));
        }
    }
}
