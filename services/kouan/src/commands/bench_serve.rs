//! `kouan bench serve`: the query service with N shipments loaded — store rebuild time and
//! memory per shipment, p50/p99 of `GET /v1/shipments/{id}`, the clearance KPI query time,
//! status change to SSE delivery latency, and the lookups again while 1,000 feed clients follow a
//! stream of changes and hostile clients make the server walk the whole store for nothing. In one
//! process, over loopback HTTP; the records are synthetic but shaped like the processor's (about
//! 14 milestones each).

use crate::cli::BenchServeArgs;
mod dcsa;
mod synthetic;

use kouan_query::record::{Origin, TopicId};
use kouan_query::{Auth, Metrics, Store};
use prost::Message;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synthetic::synthetic;
use tokio_util::sync::CancellationToken;

/// The simulated shippers; records are spread over them round-robin.
const SHIPPERS: usize = 40;
const HOSTILE_TOKEN: &str = "bench-hostile-token";

fn shipper_name(shipper: usize) -> String {
    format!("shipper-{shipper:02}")
}

fn shipper_token(shipper: usize) -> String {
    format!("bench-shipper-token-{shipper:02}")
}

/// A client of its own per feed: one connection each, as separate users would have.
fn feed_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?)
}

/// Sends `request` with `token`; an answer that is not a success is an error naming `what`.
async fn answered(
    request: reqwest::RequestBuilder,
    token: &str,
    what: &str,
) -> anyhow::Result<reqwest::Response> {
    let response = request.bearer_auth(token).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{what}: {}",
        response.status()
    );
    Ok(response)
}

struct Latencies {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
    per_second: f64,
}

/// `requests` point lookups of random shipments from `concurrency` clients.
async fn lookups(
    client: &reqwest::Client,
    base: &str,
    token: &'static str,
    n: usize,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<Latencies> {
    let per_client = requests / concurrency.max(1);
    let paths = (0..concurrency.max(1))
        .map(|c| {
            let mut x = (c as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            (0..per_client)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let index = (x % n as u64) as usize;
                    let prefix = if index.is_multiple_of(3) {
                        "784"
                    } else {
                        "ZZH"
                    };
                    format!("/v1/shipments/{prefix}-{index:09}")
                })
                .collect()
        })
        .collect();
    timed(client, base, token, paths, "lookup").await
}

/// GETs each client's paths in turn, the clients at once; their latencies. An answer that is
/// not a success is an error naming `what`.
async fn timed(
    client: &reqwest::Client,
    base: &str,
    token: &'static str,
    clients: Vec<Vec<String>>,
    what: &'static str,
) -> anyhow::Result<Latencies> {
    let mut tasks = tokio::task::JoinSet::new();
    let wall = Instant::now();
    for paths in clients {
        let (client, base) = (client.clone(), base.to_string());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(paths.len());
            for path in paths {
                let sent = Instant::now();
                let request = client.get(format!("{base}{path}"));
                answered(request, token, what).await?.bytes().await?;
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let seconds = wall.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(Latencies {
        count: latencies.len(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        max: latencies[latencies.len() - 1],
        per_second: latencies.len() as f64 / seconds,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub async fn run(args: BenchServeArgs, cancel: CancellationToken) -> anyhow::Result<i32> {
    kouan_query::install_crypto();
    let mut lines = Vec::new();
    let mut say = |line: String| {
        println!("{line}");
        lines.push(line);
    };
    let n = args.shipments;
    let records: Vec<Vec<u8>> = (0..n).map(|i| synthetic(i, 1).encode_to_vec()).collect();
    let record_bytes: usize = records.iter().map(Vec::len).sum();

    // what decoding alone costs (protobuf, validation, the typed facts), for the profile below
    let decode_only = {
        let begun = Instant::now();
        let mut interner = kouan_query::record::Interner::default();
        for bytes in records.iter().take(100_000) {
            let origin = Origin {
                topic: TopicId::Status,
                partition: 0,
                offset: 0,
            };
            std::hint::black_box(kouan_query::record::StatusRecord::decode(
                bytes,
                origin,
                &mut interner,
            )?);
        }
        begun.elapsed().as_secs_f64() / records.len().min(100_000) as f64 * 1e6
    };
    let heap_before = crate::live_heap_bytes();
    let store = Arc::new(Store::new(200_000));
    let snapshots = Arc::new(kouan_query::snapshot::Snapshots::default());
    let started = Instant::now();
    // as `kouan serve` reads them: batches of 4,096 copied out of the consumer's buffers, each
    // decoded on every core while the one before is applied
    let mut intake = kouan_query::store::Intake::default();
    let batches = records.len().div_ceil(4096);
    for (batch, chunk) in records.chunks(4096).enumerate() {
        let reads = chunk
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let offset = batch * 4096 + i;
                kouan_query::store::Read {
                    origin: Origin {
                        topic: TopicId::Status,
                        partition: (offset % 4) as i32,
                        offset: (offset / 4) as i64,
                    },
                    key: None,
                    payload: Some(bytes.as_slice().into()),
                    watermark: None,
                }
            })
            .collect();
        let rejected = intake.take(&store, reads, batch + 1 < batches);
        anyhow::ensure!(rejected.is_empty(), "bench records rejected: {rejected:?}");
    }
    let applied = started.elapsed().as_secs_f64();
    snapshots.refresh(&store);
    let rebuilt = started.elapsed().as_secs_f64();
    drop(records);
    let heap = (crate::live_heap_bytes() - heap_before) as f64;
    say(format!(
        "bench serve: store rebuild of {n} records ({:.0} MiB of protobuf): decode+index {applied:.2} s (decoding alone {decode_only:.1} µs a record), with SQL snapshot {rebuilt:.2} s = {:.2} s per million records",
        record_bytes as f64 / 1048576.0,
        rebuilt / n as f64 * 1e6
    ));
    say(format!(
        "bench serve: memory {:.0} MiB live heap = {:.0} bytes per shipment (records, JSON, indexes, change log, Arrow snapshot)",
        heap / 1048576.0,
        heap / n as f64
    ));

    // the restart from a local checkpoint: written, read back and loaded into a fresh store
    {
        let dir = std::env::temp_dir().join(format!("kouan-bench-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = kouan_query::checkpoint::path_in(&dir);
        let begun = Instant::now();
        let (position, statuses, alerts) = store.checkpoint_rows();
        let header = kouan_query::checkpoint::Checkpoint {
            written_at_millis: kouan_model::wall_millis(),
            status_topic: "kouan.status".into(),
            alerts_topic: "kouan.alerts".into(),
            position,
            ..Default::default()
        };
        kouan_query::checkpoint::write(
            &path,
            &header,
            statuses.iter().map(|r| (r.origin, r.wire())),
            alerts.iter().map(|a| (a.origin, a.wire())),
        )?;
        drop((statuses, alerts));
        let written = begun.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(&path)?.len();
        let begun = Instant::now();
        let checkpoint = kouan_query::checkpoint::read(&path)?.expect("just written");
        let read = begun.elapsed().as_secs_f64();
        let restored = Store::new(200_000);
        let rejected = restored.restore(checkpoint);
        anyhow::ensure!(rejected == 0, "{rejected} checkpoint records rejected");
        kouan_query::snapshot::Snapshots::default().refresh(&restored);
        let loaded = begun.elapsed().as_secs_f64();
        anyhow::ensure!(
            restored.counts().shipments == n,
            "restored store incomplete"
        );
        drop(restored);
        std::fs::remove_dir_all(&dir)?;
        say(format!(
            "bench serve: checkpoint of {n} shipments: {:.0} MiB written in {written:.2} s; restart from it: read {read:.2} s, loaded with SQL snapshot {loaded:.2} s = {:.2} s per million",
            bytes as f64 / 1048576.0,
            loaded / n as f64 * 1e6
        ));
    }

    let sql = Arc::new(kouan_query::sql::SqlEngine::new(
        snapshots.clone(),
        kouan_query::SqlLimits::default(),
    )?);
    let token = "bench-operator-token";
    let mut tokens = format!("{token} operator\n{HOSTILE_TOKEN} shipper nobody\n");
    for shipper in 0..SHIPPERS {
        tokens.push_str(&format!(
            "{} shipper {}\n",
            shipper_token(shipper),
            shipper_name(shipper)
        ));
    }
    let auth = Auth::parse(&tokens)?;
    let metrics = Arc::new(Metrics::new());
    let feed_gauge = metrics.feed_clients.clone();
    let webhooks = Arc::new(kouan_query::webhook::Webhooks::new(
        store.clone(),
        None,
        String::new(),
        cancel.clone(),
        &metrics,
        kouan_query::WebhookLimits::default(),
    ));
    let state = kouan_query::api::AppState {
        store: store.clone(),
        sql,
        auth: Arc::new(auth),
        webhooks,
        metrics,
        cancel: cancel.clone(),
        ready: Arc::new(AtomicBool::new(true)),
        http: kouan_query::HttpLimits::default(),
        intake: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = kouan_query::api::router(state);
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await
        });
    }
    let base = format!("http://{address}");
    let client = reqwest::Client::new();

    let latencies = lookups(&client, &base, token, n, args.requests, args.concurrency).await?;
    say(format!(
        "bench serve: GET /v1/shipments/{{id}} x{} from {} clients: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.0} requests/s)",
        latencies.count, args.concurrency, latencies.p50, latencies.p99, latencies.max, latencies.per_second
    ));

    // DCSA Track & Trace over every shipment's events
    let events = store.dcsa().len();
    dcsa::run(
        &client,
        &base,
        token,
        (n, events),
        args.requests.min(5000),
        args.concurrency,
        &mut say,
    )
    .await?;

    // the clearance KPI
    let mut kpi = Vec::new();
    for _ in 0..args.kpi_runs {
        let sent = Instant::now();
        let request = client.get(format!(
            "{base}/v1/kpis/clearance?direction=IMPORT&groupBy=portOfEntry,mode"
        ));
        answered(request, token, "kpi").await?.bytes().await?;
        kpi.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    kpi.sort_by(f64::total_cmp);
    say(format!(
        "bench serve: GET /v1/kpis/clearance?direction=IMPORT&groupBy=portOfEntry,mode over {n} shipments x{}: p50 {:.0} ms, max {:.0} ms",
        kpi.len(), percentile(&kpi, 0.5), kpi[kpi.len() - 1]
    ));

    // status change → SSE delivery
    let mut response = answered(client.get(format!("{base}/v1/feed")), token, "feed").await?;
    let changes = args.sse_changes;
    let sent_at: Arc<parking_lot::Mutex<Vec<Option<Instant>>>> =
        Arc::new(parking_lot::Mutex::new(vec![None; changes]));
    {
        let (store, sent_at) = (store.clone(), sent_at.clone());
        let pace = Duration::from_secs_f64(1.0 / args.sse_rate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(pace);
            for i in 0..changes {
                tick.tick().await;
                let bytes = synthetic(i, 2 + i as u64).encode_to_vec();
                let origin = Origin {
                    topic: TopicId::Status,
                    partition: 0,
                    offset: 1_000_000_000 + i as i64,
                };
                sent_at.lock()[i] = Some(Instant::now());
                let _ = store.apply_status(None, Some(&bytes), origin);
            }
        });
    }
    let mut delays = Vec::with_capacity(changes);
    let mut buffer = String::new();
    while delays.len() < changes {
        let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), response.chunk()).await??
        else {
            break;
        };
        let received = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(data.trim())?;
            let version = value["version"].as_u64().unwrap_or(0);
            if version >= 2 {
                let index = (version - 2) as usize;
                if let Some(Some(sent)) = sent_at.lock().get(index) {
                    delays.push(received.duration_since(*sent).as_secs_f64() * 1000.0);
                }
            }
        }
    }
    delays.sort_by(f64::total_cmp);
    say(format!(
        "bench serve: status change to SSE delivery, {} changes at {}/s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        delays.len(), args.sse_rate, percentile(&delays, 0.5), percentile(&delays, 0.99), delays[delays.len() - 1]
    ));
    // the lookups again, under feed load
    let load = CancellationToken::new();
    let delivered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut feeds: tokio::task::JoinSet<anyhow::Result<()>> = tokio::task::JoinSet::new();
    let mut hostile: tokio::task::JoinSet<anyhow::Result<u64>> = tokio::task::JoinSet::new();
    for i in 0..args.feed_clients {
        let (client, base, load, delivered) = (
            feed_client()?,
            base.clone(),
            load.clone(),
            delivered.clone(),
        );
        feeds.spawn(async move {
            let request = client.get(format!("{base}/v1/feed"));
            let mut response = answered(request, &shipper_token(i % SHIPPERS), "feed").await?;
            loop {
                tokio::select! {
                    _ = load.cancelled() => return Ok(()),
                    chunk = response.chunk() => match chunk? {
                        Some(bytes) => {
                            let events = bytes.windows(6).filter(|w| w == b"event:").count();
                            delivered.fetch_add(events as u64, std::sync::atomic::Ordering::Relaxed);
                        }
                        None => anyhow::bail!("feed {i} ended"),
                    },
                }
            }
        });
    }
    let connected = Instant::now();
    while feed_gauge.get() < args.feed_clients as i64 {
        anyhow::ensure!(
            connected.elapsed() < Duration::from_secs(60),
            "only {} of {} feed clients connected",
            feed_gauge.get(),
            args.feed_clients
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..args.hostile_clients {
        let (client, base, load) = (feed_client()?, base.clone(), load.clone());
        hostile.spawn(async move {
            let mut walks = 0u64;
            while !load.is_cancelled() {
                // resume from the very start as a shipper that sees nothing: every record is
                // walked and skipped; hang up once the walk has had its time and start again
                let request = client
                    .get(format!("{base}/v1/feed"))
                    .header("last-event-id", "s=0.0.0.0~a=0");
                let response = answered(request, HOSTILE_TOKEN, "hostile").await?;
                tokio::select! {
                    _ = load.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
                drop(response);
                walks += 1;
            }
            Ok(walks)
        });
    }
    let changer = {
        let (store, load) = (store.clone(), load.clone());
        let pace = Duration::from_secs_f64(1.0 / args.sse_rate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(pace);
            // behind schedule, go on at the pace rather than in a burst
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut change = 0u64;
            while !load.is_cancelled() {
                tick.tick().await;
                let index = (change.wrapping_mul(0x9e37_79b9_7f4a_7c15) % n as u64) as usize;
                let bytes = synthetic(index, 1_000_000 + change).encode_to_vec();
                let origin = Origin {
                    topic: TopicId::Status,
                    partition: 1,
                    offset: 2_000_000_000 + change as i64,
                };
                store.apply_status(None, Some(&bytes), origin)?;
                change += 1;
            }
            Ok::<_, anyhow::Error>(change)
        })
    };
    let under_load = lookups(&client, &base, token, n, args.requests, args.concurrency).await;
    load.cancel();
    while let Some(done) = feeds.join_next().await {
        done??;
    }
    let mut walks = 0;
    while let Some(done) = hostile.join_next().await {
        walks += done??;
    }
    let changes_applied = changer.await??;
    let under_load = under_load?;
    say(format!(
        "bench serve: GET /v1/shipments/{{id}} x{} from {} clients while {} feed clients follow {} changes at {}/s ({} events delivered) and {} hostile clients walk the store {} times: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.0} requests/s)",
        under_load.count, args.concurrency, args.feed_clients, changes_applied, args.sse_rate,
        delivered.load(std::sync::atomic::Ordering::Relaxed), args.hostile_clients, walks,
        under_load.p50, under_load.p99, under_load.max, under_load.per_second
    ));

    cancel.cancel();
    if let Some(report) = &args.report {
        std::fs::write(report, lines.join("\n") + "\n")?;
    }
    Ok(0)
}
