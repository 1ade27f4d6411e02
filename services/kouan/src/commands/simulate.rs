//! `kouan simulate`: the Zhengzhou-hub scenario, written to a file or published in real time.

use crate::cli::{BenchSimulateArgs, ScenarioArgs, SimulateArgs};
use anyhow::Context;
use kouan_bus::{Publisher, Topics};
use kouan_emitter::simulator::output::write_lines;
use kouan_emitter::simulator::{SimConfig, Simulator};
use kouan_emitter::sink::EventSink;
use kouan_model::{ndjson, Timestamp};
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub fn sim_config(args: &ScenarioArgs) -> anyhow::Result<SimConfig> {
    let start =
        Timestamp::parse(&args.start).map_err(|reason| anyhow::anyhow!("--start: {reason}"))?;
    for (flag, value) in [
        ("--anomaly-rate", args.anomaly_rate),
        ("--duplicates", args.duplicates),
        ("--late-links", args.late_links),
        ("--corrections", args.corrections),
        ("--retractions", args.retractions),
        ("--malformed", args.malformed),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&value),
            "{flag}: {value} is not a share between 0 and 1"
        );
    }
    anyhow::ensure!(
        args.shipments_per_day > 0.0,
        "--shipments-per-day: must be positive"
    );
    Ok(SimConfig {
        seed: args.seed,
        start_unix_millis: start.unix_millis(),
        shipments_per_day: args.shipments_per_day,
        anomaly_rate: args.anomaly_rate,
        duplicate_rate: args.duplicates,
        reorder_window_secs: args.reorder_window.as_secs_f64(),
        late_link_rate: args.late_links,
        correction_rate: args.corrections,
        retraction_rate: args.retractions,
        malformed_rate: args.malformed,
        ..SimConfig::default()
    })
}

pub async fn run(
    args: SimulateArgs,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<i32> {
    anyhow::ensure!(args.rate > 0.0, "--rate: must be positive");
    let config = sim_config(&args.scenario)?;
    if let (Some(out), false) = (&args.out, args.format.is_empty()) {
        return write_formats(&args, out, config).await;
    }
    if let Some(out) = &args.out {
        let count = (args.rate * args.duration.as_secs_f64()).round() as u64;
        let out = out.clone();
        let truth = args.truth.clone();
        let started = Instant::now();
        let written = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut simulator = Simulator::new(config);
            let mut file = BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?,
            );
            let mut truth_file = match &truth {
                Some(path) => Some(BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => None,
            };
            let written = write_lines(
                &mut simulator,
                count,
                &mut file,
                truth_file.as_mut().map(|file| file as &mut dyn Write),
            )?;
            file.flush()?;
            if let Some(mut truth_file) = truth_file {
                truth_file.flush()?;
            }
            Ok(written)
        })
        .await??;
        eprintln!(
            "simulate: {} lines ({} malformed), {} anomalies in the truth, in {:.2} s",
            written.lines,
            written.malformed,
            written.truth,
            started.elapsed().as_secs_f64()
        );
        return Ok(0);
    }
    let brokers = args
        .brokers
        .clone()
        .context("--brokers is required without --out")?;
    kouan_bus::topics::ensure_topics(&brokers, &topics)
        .await
        .context("making sure the topics exist")?;
    let progress = Progress::default();
    tokio::task::spawn_blocking(move || {
        publish(&brokers, &topics, config, &args, &progress, &cancel)
    })
    .await
    .context("simulator task")??;
    Ok(0)
}

/// How far the publishing has got, for `kouan up`'s progress lines.
#[derive(Debug)]
pub struct Progress {
    /// Lines published (valid events and malformed lines alike).
    pub lines: AtomicU64,
    /// Set when a live simulator first had to wait for the wall clock: history is all out.
    pub reached_present: AtomicBool,
    /// Lines it may publish so far: `kouan up` holds the simulator back while the pipeline
    /// behind it has a backlog (the embedded broker keeps only 5 MB per partition, so a reader
    /// further behind than that would skip records).
    pub limit: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            lines: AtomicU64::new(0),
            reached_present: AtomicBool::new(false),
            limit: AtomicU64::new(u64::MAX),
        }
    }
}

/// Publishes in delivery order at `rate` lines per second (and no faster than `speed` simulated
/// seconds per wall second, when given), for `duration` or until cancelled.
pub fn publish(
    brokers: &str,
    topics: &Topics,
    config: SimConfig,
    args: &SimulateArgs,
    progress: &Progress,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let publisher = Publisher::new(brokers).context("creating producer")?;
    let sink = EventSink::new(&publisher, topics);
    let mut truth_file = match &args.truth {
        Some(path) => Some(BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let mut simulator = Simulator::new(config);
    let started = Instant::now();
    let mut first_at = None;
    let (mut published, mut rejected) = (0u64, 0u64);
    let mut pending_truth = Vec::new();
    let mut last_report = Instant::now();
    while !cancel.is_cancelled() {
        if !args.duration.is_zero() && started.elapsed() >= args.duration {
            break;
        }
        let delivered = simulator.next().expect("the simulator never ends");
        let first = *first_at.get_or_insert(delivered.at_unix_millis);
        let sent = published + rejected;
        let mut due = Duration::from_secs_f64(sent as f64 / args.rate);
        if let Some(speed) = args.speed {
            let simulated = (delivered.at_unix_millis - first) as f64 / 1000.0;
            due = due.max(Duration::from_secs_f64(simulated / speed));
        }
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait.min(Duration::from_millis(200)));
        }
        if args.live {
            // caught up with the present: wait for the wall clock to reach the delivery time
            while !cancel.is_cancelled() {
                let ahead = delivered.at_unix_millis - kouan_model::wall_millis();
                if ahead <= 0 {
                    break;
                }
                progress.reached_present.store(true, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(ahead.min(200) as u64));
            }
        }
        while progress.lines.load(Ordering::Relaxed) >= progress.limit.load(Ordering::Relaxed)
            && !cancel.is_cancelled()
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        match ndjson::decode_line(delivered.line.as_bytes()) {
            Ok(event) => {
                sink.publish(&event)?;
                published += 1;
            }
            Err(reject) => {
                sink.reject(delivered.line.as_bytes(), &reject, "simulator")?;
                rejected += 1;
            }
        }
        progress.lines.fetch_add(1, Ordering::Relaxed);
        pending_truth.extend(simulator.take_truth());
        if let Some(file) = truth_file.as_mut() {
            pending_truth.retain(|anomaly| {
                if anomaly.start.unix_millis() <= delivered.at_unix_millis {
                    let _ = writeln!(file, "{}", anomaly.to_json());
                    false
                } else {
                    true
                }
            });
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            tracing::info!(
                published,
                rejected,
                shipments = simulator.shipments(),
                "simulating"
            );
            last_report = Instant::now();
        }
    }
    if let Some(mut file) = truth_file {
        file.flush()?;
    }
    publisher.flush(Duration::from_secs(60))?;
    eprintln!(
        "simulate: {published} published, {rejected} malformed sent to the dead-letter topic"
    );
    Ok(())
}

/// Generation speed, NDJSON lines written to a file.
pub fn bench(args: BenchSimulateArgs) -> anyhow::Result<i32> {
    let path = std::env::temp_dir().join(format!(
        "kouan-bench-simulate-{}.ndjson",
        std::process::id()
    ));
    let mut simulator = Simulator::new(SimConfig::default());
    let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let started = Instant::now();
    let written = write_lines(&mut simulator, args.events, &mut file, None)?;
    file.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path)?.len();
    let _ = std::fs::remove_file(&path);
    let line = format!(
        "bench simulate: {} events ({:.1} MiB, {} shipments) generated and written in {:.2} s = {:.0} events/s; {} lines pending at the end",
        written.lines,
        bytes as f64 / (1024.0 * 1024.0),
        simulator.shipments(),
        seconds,
        written.lines as f64 / seconds,
        simulator.pending()
    );
    println!("{line}");
    if let Some(report) = &args.report {
        std::fs::write(report, format!("{line}\n"))?;
    }
    Ok(0)
}

/// `kouan simulate --out OUT --format F,G`: the same run, each event in the first standard that
/// can say it (`OUT.edi`, `OUT.fsu`, `OUT.xfsu.xml`, `OUT.dcsa.json`, `OUT.onerecord.json`),
/// the rest as NDJSON in `OUT.ndjson`.
async fn write_formats(
    args: &SimulateArgs,
    out: &std::path::Path,
    config: SimConfig,
) -> anyhow::Result<i32> {
    let formats = args
        .format
        .iter()
        .map(|name| match kouan_standards::Format::from_name(name) {
            Some(kouan_standards::Format::Ndjson) | None => Err(anyhow::anyhow!(
                "--format: {name:?} is none of edifact, cargo-imp, cargo-xml, dcsa, onerecord"
            )),
            Some(format) => Ok(format),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (index, format) in formats.iter().enumerate() {
        anyhow::ensure!(
            !formats[..index].contains(format),
            "--format: {} is given twice",
            format.name()
        );
    }
    let zone: chrono_tz::Tz = args.format_zone.parse().map_err(|_| {
        anyhow::anyhow!("--format-zone: {:?} is not an IANA zone", args.format_zone)
    })?;
    let count = (args.rate * args.duration.as_secs_f64()).round() as u64;
    let out = out.to_path_buf();
    let truth = args.truth.clone();
    let started = Instant::now();
    let written = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut simulator = Simulator::new(config);
        let mut ndjson = Vec::new();
        let mut truth_text = Vec::new();
        write_lines(&mut simulator, count, &mut ndjson, Some(&mut truth_text))?;
        if let Some(path) = &truth {
            std::fs::write(path, &truth_text)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        let lines: Vec<Result<kouan_model::Event, String>> = ndjson
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                ndjson::decode_line(line).map_err(|_| String::from_utf8_lossy(line).into_owned())
            })
            .collect();
        let written = kouan_standards::write::write_all(&lines, &formats, zone);
        let path_of = |extension: &str| {
            let mut name = out.as_os_str().to_owned();
            name.push(".");
            name.push(extension);
            std::path::PathBuf::from(name)
        };
        for (format, text) in formats.iter().zip(&written.texts) {
            let path = path_of(format.extension());
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let rest = path_of("ndjson");
        std::fs::write(&rest, &written.rest)
            .with_context(|| format!("writing {}", rest.display()))?;
        let counts: Vec<String> = formats
            .iter()
            .enumerate()
            .map(|(index, format)| {
                format!("{} events as {}", written.count(Some(index)), format.name())
            })
            .collect();
        Ok((counts, written.count(None)))
    })
    .await??;
    eprintln!(
        "simulate: {}, {} lines as ndjson, in {:.2} s",
        written.0.join(", "),
        written.1,
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}
