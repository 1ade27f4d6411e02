//! Writing a run to NDJSON (`kouan simulate --out`), with its ground truth.

use super::{Anomaly, Simulator};
use std::io::{self, Write};

/// What a run wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub lines: u64,
    pub malformed: u64,
    pub truth: u64,
    /// Delivery time of the last line, Unix milliseconds.
    pub last_at_unix_millis: i64,
}

/// Writes the next `count` lines to `out` and, when given, the anomalies that began by the last
/// line's delivery time to `truth` (later ones have not happened yet within this run).
pub fn write_lines(
    simulator: &mut Simulator,
    count: u64,
    out: &mut impl Write,
    truth: Option<&mut dyn Write>,
) -> io::Result<Written> {
    let mut written = Written::default();
    for delivered in simulator.by_ref().take(count as usize) {
        out.write_all(delivered.line.as_bytes())?;
        out.write_all(b"\n")?;
        written.lines += 1;
        written.malformed += u64::from(delivered.malformed);
        written.last_at_unix_millis = delivered.at_unix_millis;
    }
    let anomalies: Vec<Anomaly> = simulator.take_truth().collect();
    if let Some(truth) = truth {
        for anomaly in anomalies
            .iter()
            .filter(|anomaly| anomaly.start.unix_millis() <= written.last_at_unix_millis)
        {
            writeln!(truth, "{}", anomaly.to_json())?;
            written.truth += 1;
        }
    }
    Ok(written)
}
