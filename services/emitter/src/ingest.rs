//! `kouan ingest`: NDJSON in, valid events to their topics, rejected lines to the dead-letter
//! topic. Lines are read one at a time into a reused buffer, so a file of any size streams in
//! constant memory; a line longer than [`MAX_LINE_BYTES`] is rejected without being buffered whole.

use crate::sink::EventSink;
use kouan_bus::BusError;
use kouan_model::{ndjson, Reject};
use std::io::BufRead;
use tokio_util::sync::CancellationToken;

/// Longest line accepted; events are a few hundred bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of an overlong line goes to the dead-letter topic.
const OVERLONG_PREFIX_BYTES: usize = 4096;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestSummary {
    /// Lines read, blank ones included.
    pub lines: u64,
    pub published: u64,
    pub rejected: u64,
    /// True when the run stopped early because it was cancelled.
    pub cancelled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("reading input: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Reads `reader` to the end (or until `cancel`), publishing each valid line and dead-lettering
/// each invalid one; `on_reject` hears of every rejection with its 1-based line number.
pub fn ingest<R: BufRead>(
    mut reader: R,
    origin: &str,
    sink: &EventSink<'_>,
    cancel: &CancellationToken,
    mut on_reject: impl FnMut(u64, &Reject),
) -> Result<IngestSummary, IngestError> {
    let mut summary = IngestSummary::default();
    let mut line = Vec::with_capacity(1024);
    loop {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        line.clear();
        let overlong = read_line_bounded(&mut reader, &mut line)?;
        if line.is_empty() && !overlong {
            break;
        }
        summary.lines += 1;
        let content = trim_line_end(&line);
        if content.iter().all(u8::is_ascii_whitespace) && !overlong {
            continue;
        }
        let result = if overlong {
            Err(Reject::new(
                "(line)",
                format!("longer than {MAX_LINE_BYTES} bytes"),
            ))
        } else {
            ndjson::decode_line(content)
        };
        match result {
            Ok(event) => {
                sink.publish(&event)?;
                summary.published += 1;
            }
            Err(reject) => {
                let where_from = format!("{origin}:{}", summary.lines);
                sink.reject(content, &reject, &where_from)?;
                summary.rejected += 1;
                on_reject(summary.lines, &reject);
            }
        }
    }
    Ok(summary)
}

/// Reads one line (with its newline) into `buffer`, keeping at most `OVERLONG_PREFIX_BYTES` of a
/// line longer than `MAX_LINE_BYTES` and skipping the rest. Returns whether the line was overlong.
fn read_line_bounded<R: BufRead>(reader: &mut R, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut overlong = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(overlong);
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let taken = chunk.len();
        if !overlong {
            buffer.extend_from_slice(chunk);
            if buffer.len() > MAX_LINE_BYTES {
                overlong = true;
                buffer.truncate(OVERLONG_PREFIX_BYTES);
            }
        }
        reader.consume(taken);
        if done {
            return Ok(overlong);
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn bounded_reader_splits_lines_and_caps_long_ones() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let input = format!("a\r\n\n{long}\nlast");
        let mut reader = std::io::BufReader::with_capacity(64, Cursor::new(input.into_bytes()));
        let mut buffer = Vec::new();
        assert!(!read_line_bounded(&mut reader, &mut buffer).unwrap());
        assert_eq!(trim_line_end(&buffer), b"a");
        buffer.clear();
        assert!(!read_line_bounded(&mut reader, &mut buffer).unwrap());
        assert_eq!(buffer, b"\n");
        buffer.clear();
        assert!(read_line_bounded(&mut reader, &mut buffer).unwrap());
        assert_eq!(buffer.len(), OVERLONG_PREFIX_BYTES);
        buffer.clear();
        assert!(!read_line_bounded(&mut reader, &mut buffer).unwrap());
        assert_eq!(buffer, b"last");
        buffer.clear();
        assert!(!read_line_bounded(&mut reader, &mut buffer).unwrap());
        assert!(buffer.is_empty());
    }
}
