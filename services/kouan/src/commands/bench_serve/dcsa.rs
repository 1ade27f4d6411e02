//! The bench's DCSA Track & Trace phase: pages of `/dcsa/tnt/v2/events` from random places in
//! the order, filtered pages, and lookups by `eventID`, over every synthetic shipment's events.

use super::{answered, percentile, Latencies};
use std::time::Instant;

/// GETs every path from `concurrency` clients; their latencies.
async fn timed(
    client: &reqwest::Client,
    base: &str,
    token: &'static str,
    paths: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<Latencies> {
    let concurrency = concurrency.max(1);
    let mut tasks = tokio::task::JoinSet::new();
    let wall = Instant::now();
    for c in 0..concurrency {
        let mine: Vec<String> = paths.iter().skip(c).step_by(concurrency).cloned().collect();
        let (client, base) = (client.clone(), base.to_string());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            for path in mine {
                let sent = Instant::now();
                let request = client.get(format!("{base}{path}"));
                answered(request, token, "dcsa").await?.bytes().await?;
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

/// A random-looking shipment index of the rail two thirds (air shipments have no DCSA events).
fn rail_index(x: &mut u64, n: usize) -> usize {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    let index = (*x % n as u64) as usize;
    if index.is_multiple_of(3) {
        (index + 1) % n
    } else {
        index
    }
}

/// Runs the phase and says what it measured.
pub(super) async fn run(
    client: &reqwest::Client,
    base: &str,
    token: &'static str,
    (n, events): (usize, usize),
    requests: usize,
    concurrency: usize,
    say: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let times: Vec<String> = (0..requests)
        .map(|_| {
            // the synthetic records' times spread over 60 days from 1,790,000,000
            let seconds = 1_790_000_000 + (rail_index(&mut x, n) as i64 % 86_400) * 60;
            kouan_model::Timestamp::from_parts(seconds, 0, 8 * 3600)
                .expect("in range")
                .to_rfc3339()
                .replace('+', "%2B")
        })
        .collect();
    let kinds = [
        (
            "GET /dcsa/tnt/v2/events?eventCreatedDateTime:gte=T&limit=100 (a page from a random place)",
            times
                .iter()
                .map(|t| format!("/dcsa/tnt/v2/events?eventCreatedDateTime:gte={t}&limit=100"))
                .collect::<Vec<_>>(),
        ),
        (
            "GET /dcsa/tnt/v2/events?equipmentReference=U (one container's events)",
            (0..requests)
                .map(|_| {
                    let unit = rail_index(&mut x, n) % 10_000_000;
                    format!("/dcsa/tnt/v2/events?equipmentReference=ZZHU{unit:07}")
                })
                .collect(),
        ),
        (
            "GET /dcsa/tnt/v2/events?eventType=TRANSPORT&UNLocationCode=PLMAW&eventCreatedDateTime:gte=T&limit=20 (a scan filtered)",
            times
                .iter()
                .map(|t| format!("/dcsa/tnt/v2/events?eventType=TRANSPORT&UNLocationCode=PLMAW&eventCreatedDateTime:gte={t}&limit=20"))
                .collect(),
        ),
        (
            "GET /dcsa/tnt/v2/events/{eventID}",
            (0..requests)
                .map(|_| {
                    let index = rail_index(&mut x, n);
                    let id = kouan_standards::dcsa::write::event_uuid("bench", &format!("{index}-2"));
                    format!("/dcsa/tnt/v2/events/{id}")
                })
                .collect(),
        ),
    ];
    for (what, paths) in kinds {
        let latencies = timed(client, base, token, paths, concurrency).await?;
        say(format!(
            "bench serve: {what} x{} from {concurrency} clients over {events} DCSA events: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.0} requests/s)",
            latencies.count, latencies.p50, latencies.p99, latencies.max, latencies.per_second
        ));
    }
    Ok(())
}
