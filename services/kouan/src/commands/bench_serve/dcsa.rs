//! The bench's DCSA Track & Trace phase: pages of `/dcsa/tnt/v2/events` from random places in
//! the order, filtered pages, and lookups by `eventID`, over every synthetic shipment's events.

use super::timed;

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
        let clients = (0..concurrency.max(1))
            .map(|c| {
                paths
                    .iter()
                    .skip(c)
                    .step_by(concurrency.max(1))
                    .cloned()
                    .collect()
            })
            .collect();
        let latencies = timed(client, base, token, clients, "dcsa").await?;
        say(format!(
            "bench serve: {what} x{} from {concurrency} clients over {events} DCSA events: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.0} requests/s)",
            latencies.count, latencies.p50, latencies.p99, latencies.max, latencies.per_second
        ));
    }
    Ok(())
}
