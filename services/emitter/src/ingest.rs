//! `kouan ingest`: NDJSON in, valid events to their topics, rejected lines to the dead-letter
//! topic.
//!
//! Three stages, so parsing (most of the work) runs on every core while records still leave in
//! input order: the calling thread reads whole lines into batches bounded in lines and bytes (so a
//! file of any size streams in constant memory; a line longer than [`MAX_LINE_BYTES`] is rejected
//! without being buffered whole); parser threads decode, validate and encode batches in parallel;
//! one publisher thread takes the batches' results in the order they were read and publishes them.
//! Records, rejections and line numbers come out exactly as one thread would produce them.

use crate::sink::{EncodedEvent, EventSink};
use kouan_bus::BusError;
use kouan_model::{ndjson, Reject};
use std::io::BufRead;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Longest line accepted; events are a few hundred bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of an overlong line goes to the dead-letter topic.
const OVERLONG_PREFIX_BYTES: usize = 4096;

/// A batch closes at this many lines or bytes, whichever comes first: large enough that handing
/// it between threads costs nothing per line, small enough that the batches in flight stay a few
/// MiB (one line may take a batch past the byte bound, by at most [`MAX_LINE_BYTES`]).
const BATCH_LINES: usize = 2048;
const BATCH_BYTES: usize = 512 * 1024;

/// Batches read but not yet published, beyond those being parsed: the pipeline's memory bound.
const BATCHES_IN_FLIGHT: usize = 8;

/// Parser threads: the machine's cores, at most four (the publisher and librdkafka need some).
fn parser_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().clamp(1, 4))
}

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

/// Non-blank lines read, stored end to end in one buffer.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    lines: Vec<Line>,
}

struct Line {
    /// 1-based line number in the input.
    number: u64,
    start: usize,
    end: usize,
    overlong: bool,
}

impl Batch {
    fn text(&self, line: &Line) -> &[u8] {
        &self.data[line.start..line.end]
    }

    fn is_full(&self) -> bool {
        self.lines.len() >= BATCH_LINES || self.data.len() >= BATCH_BYTES
    }
}

/// A batch with what each of its lines became, in the same order.
struct Parsed {
    batch: Batch,
    outcomes: Vec<Result<EncodedEvent, Reject>>,
}

/// The pure stage: decode, validate and encode every line of a batch.
fn parse(batch: Batch) -> Parsed {
    let outcomes = batch
        .lines
        .iter()
        .map(|line| {
            if line.overlong {
                Err(Reject::new(
                    "(line)",
                    format!("longer than {MAX_LINE_BYTES} bytes"),
                ))
            } else {
                ndjson::decode_line(batch.text(line)).map(|event| EncodedEvent::new(&event))
            }
        })
        .collect();
    Parsed { batch, outcomes }
}

/// Where ingest's results go: the Kafka [`EventSink`] in the product, a recorder in tests.
pub trait Outlet: Sync {
    fn publish(&self, event: &EncodedEvent) -> Result<(), BusError>;
    fn reject(&self, raw: &[u8], reject: &Reject, origin: &str) -> Result<(), BusError>;
}

impl Outlet for EventSink<'_> {
    fn publish(&self, event: &EncodedEvent) -> Result<(), BusError> {
        self.publish_encoded(event)
    }

    fn reject(&self, raw: &[u8], reject: &Reject, origin: &str) -> Result<(), BusError> {
        EventSink::reject(self, raw, reject, origin)
    }
}

/// Reads `reader` to the end (or until `cancel`), publishing each valid line and dead-lettering
/// each invalid one; `on_reject` hears of every rejection with its 1-based line number, in input
/// order. Lines already read when `cancel` fires are still published.
pub fn ingest<R: BufRead>(
    mut reader: R,
    origin: &str,
    sink: &impl Outlet,
    cancel: &CancellationToken,
    on_reject: impl FnMut(u64, &Reject) + Send,
) -> Result<IngestSummary, IngestError> {
    // Each batch travels to a parser with a one-shot channel for its result; the publisher
    // receives those channels in reading order.
    type Job = (Batch, SyncSender<Parsed>);
    let (job_sender, job_receiver) = sync_channel::<Job>(BATCHES_IN_FLIGHT);
    let (order_sender, order_receiver) = sync_channel::<Receiver<Parsed>>(BATCHES_IN_FLIGHT);
    let job_receiver = Mutex::new(job_receiver);

    std::thread::scope(|scope| {
        for _ in 0..parser_threads() {
            let jobs = &job_receiver;
            scope.spawn(move || loop {
                let job = jobs
                    .lock()
                    .expect("a parser never panics holding it")
                    .recv();
                let Ok((batch, result)) = job else { break };
                // The publisher may have stopped on an error; nobody wants the result then.
                let _ = result.send(parse(batch));
            });
        }
        let publisher = scope.spawn(move || publish(order_receiver, origin, sink, on_reject));

        let read = read_batches(&mut reader, cancel, |batch| {
            let (result_sender, result_receiver) = sync_channel(1);
            order_sender.send(result_receiver).is_ok()
                && job_sender.send((batch, result_sender)).is_ok()
        });
        // Closing both channels lets the parsers and the publisher finish what was read.
        drop(order_sender);
        drop(job_sender);
        let published = publisher
            .join()
            .expect("the publisher thread does not panic");
        // A publishing error explains a reader that stopped early; report it first.
        let (published, rejected) = published?;
        let (lines, cancelled) = read?;
        Ok(IngestSummary {
            lines,
            published,
            rejected,
            cancelled,
        })
    })
}

/// Cuts the input into batches and hands each to `dispatch`, which says whether the pipeline
/// still takes them. Returns the lines read and whether `cancel` stopped the reading.
fn read_batches<R: BufRead>(
    reader: &mut R,
    cancel: &CancellationToken,
    mut dispatch: impl FnMut(Batch) -> bool,
) -> Result<(u64, bool), std::io::Error> {
    let mut lines = 0u64;
    let mut batch = Batch::default();
    let mut cancelled = false;
    loop {
        if cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        let start = batch.data.len();
        let overlong = read_line_bounded(reader, &mut batch.data)?;
        if batch.data.len() == start && !overlong {
            break;
        }
        lines += 1;
        let end = start + trim_line_end(&batch.data[start..]).len();
        if batch.data[start..end].iter().all(u8::is_ascii_whitespace) && !overlong {
            batch.data.truncate(start);
            continue;
        }
        batch.lines.push(Line {
            number: lines,
            start,
            end,
            overlong,
        });
        if batch.is_full() && !dispatch(std::mem::take(&mut batch)) {
            return Ok((lines, cancelled));
        }
    }
    if !batch.lines.is_empty() {
        dispatch(batch);
    }
    Ok((lines, cancelled))
}

/// The last stage: publishes every parsed batch in reading order. Returns (published, rejected).
fn publish(
    order: Receiver<Receiver<Parsed>>,
    origin: &str,
    sink: &impl Outlet,
    mut on_reject: impl FnMut(u64, &Reject),
) -> Result<(u64, u64), BusError> {
    let (mut published, mut rejected) = (0, 0);
    for result in order {
        // A parser drops the sender only if it panicked, which the scope reports.
        let Ok(Parsed { batch, outcomes }) = result.recv() else {
            break;
        };
        for (line, outcome) in batch.lines.iter().zip(&outcomes) {
            match outcome {
                Ok(event) => {
                    sink.publish(event)?;
                    published += 1;
                }
                Err(reject) => {
                    let where_from = format!("{origin}:{}", line.number);
                    sink.reject(batch.text(line), reject, &where_from)?;
                    rejected += 1;
                    on_reject(line.number, reject);
                }
            }
        }
    }
    Ok((published, rejected))
}

/// Appends one line (with its newline) to `buffer`, keeping at most `OVERLONG_PREFIX_BYTES` of a
/// line longer than `MAX_LINE_BYTES` and skipping the rest. Returns whether the line was overlong.
fn read_line_bounded<R: BufRead>(reader: &mut R, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let start = buffer.len();
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
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let taken = chunk.len();
        if !overlong {
            buffer.extend_from_slice(chunk);
            if buffer.len() - start > MAX_LINE_BYTES {
                overlong = true;
                buffer.truncate(start + OVERLONG_PREFIX_BYTES);
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

    /// Records what reaches it, as (line of origin or key, payload or reason).
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Vec<u8>)>>);

    impl Outlet for Recorder {
        fn publish(&self, event: &EncodedEvent) -> Result<(), BusError> {
            let entry = (event.key.clone(), event.payload.clone());
            self.0.lock().unwrap().push(entry);
            Ok(())
        }

        fn reject(&self, raw: &[u8], reject: &Reject, origin: &str) -> Result<(), BusError> {
            let entry = (format!("{origin} {reject}"), raw.to_vec());
            self.0.lock().unwrap().push(entry);
            Ok(())
        }
    }

    fn valid_line(n: usize) -> String {
        format!(
            r#"{{"eventId":"e-{n}","source":"test","eventTime":"2026-11-20T08:15:00+08:00","transport":{{"type":"BORDER_CROSSED","mode":"RAIL","reference":"X8001-{n}"}}}}"#
        )
    }

    /// Many batches' worth of valid, invalid, blank and overlong lines: the pipeline's output is
    /// exactly what decoding line by line in order gives, with the same line numbers.
    #[test]
    fn the_pipeline_keeps_input_order_and_line_numbers() {
        let mut lines = Vec::new();
        for n in 0..9_000 {
            lines.push(match n % 97 {
                13 => String::new(),
                29 => "{not json".to_string(),
                41 => valid_line(n).replace("RAIL", "BOAT"),
                _ => valid_line(n),
            });
        }
        lines[4_500] = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_LINE_BYTES));
        assert!(
            ndjson::decode_line(valid_line(1).as_bytes()).is_ok(),
            "the fixture is valid"
        );

        let mut expected = Vec::new();
        let mut expected_rejects = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let number = index as u64 + 1;
            if line.is_empty() {
                continue;
            }
            let outcome = if line.len() > MAX_LINE_BYTES {
                Err(Reject::new(
                    "(line)",
                    format!("longer than {MAX_LINE_BYTES} bytes"),
                ))
            } else {
                ndjson::decode_line(line.as_bytes()).map(|event| EncodedEvent::new(&event))
            };
            match outcome {
                Ok(event) => expected.push((event.key, event.payload)),
                Err(reject) => {
                    let raw = line.as_bytes()[..line.len().min(OVERLONG_PREFIX_BYTES)].to_vec();
                    expected.push((format!("in:{number} {reject}"), raw));
                    expected_rejects.push(number);
                }
            }
        }

        let input = lines.join("\n") + "\n";
        let recorder = Recorder::default();
        let mut heard = Vec::new();
        let summary = ingest(
            Cursor::new(input.into_bytes()),
            "in",
            &recorder,
            &CancellationToken::new(),
            |number, _| heard.push(number),
        )
        .unwrap();
        let got = recorder.0.into_inner().unwrap();
        assert_eq!(summary.lines, 9_000);
        assert_eq!(summary.rejected, expected_rejects.len() as u64);
        assert_eq!(summary.published + summary.rejected, expected.len() as u64);
        assert!(summary.published > 8_000 && !summary.cancelled);
        assert_eq!(heard, expected_rejects);
        assert_eq!(got.len(), expected.len());
        for (index, (got, expected)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(got, expected, "record {index}");
        }
    }

    /// An outlet that fails stops the run with its error, whatever the parsers were doing.
    #[test]
    fn a_failing_outlet_stops_the_run_with_its_error() {
        struct Failing;
        impl Outlet for Failing {
            fn publish(&self, _: &EncodedEvent) -> Result<(), BusError> {
                Err(BusError::Embedded("refused".into()))
            }
            fn reject(&self, _: &[u8], _: &Reject, _: &str) -> Result<(), BusError> {
                Ok(())
            }
        }
        let input: String = (0..20_000).map(|n| valid_line(n) + "\n").collect();
        let result = ingest(
            Cursor::new(input.into_bytes()),
            "in",
            &Failing,
            &CancellationToken::new(),
            |_, _| {},
        );
        assert!(matches!(result, Err(IngestError::Bus(_))), "{result:?}");
    }

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
