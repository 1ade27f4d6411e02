//! `kouan pull dcsa`: polls a carrier's DCSA Track & Trace 2.2 `GET /v2/events`, page by page,
//! and publishes each page's new events (rejections to the dead-letter topic) together with the
//! poller's [`cursor`] in one Kafka transaction: a poller killed at any point resumes from the
//! last committed page, and nothing it read reaches the event topics twice.

pub mod cursor;

use crate::sink::EventSink;
use cursor::Cursor;
use kouan_bus::{BusError, Follower, Publisher, Topics};
use kouan_standards::{Context, Format, SourceZones};
use rdkafka::Message;
use serde_json::Value;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one poller needs.
#[derive(Debug, Clone)]
pub struct PullConfig {
    /// The base of the carrier's T&T API; events are read from `{url}/v2/events`.
    pub url: String,
    /// A bearer token for the carrier's API.
    pub token: Option<String>,
    /// The carrier, as the source of its events.
    pub source: String,
    /// The poller's name: the key of its cursor and part of its transactional id.
    pub name: String,
    /// Events asked for per page.
    pub limit: u32,
    /// The pause between two polls once the carrier has nothing more.
    pub every: Duration,
    /// Poll until the carrier has nothing more, then stop.
    pub once: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PullSummary {
    pub pages: u64,
    pub taken: u64,
    pub rejected: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("GET {url}: {reason}")]
    Http { url: String, reason: String },
    #[error("the cursor record of {name} cannot be read: {reason}")]
    Cursor { name: String, reason: String },
}

/// The cursor `name` committed last, from the pull topic (none: from the carrier's first event).
pub fn load_cursor(
    brokers: &str,
    topic: &str,
    name: &str,
    cancel: &CancellationToken,
) -> Result<Cursor, PullError> {
    let mut follower = Follower::from_beginning(
        brokers,
        &format!("kouan-pull-load-{}", std::process::id()),
        &[topic.to_string()],
        cancel,
    )?;
    let mut last: Option<Vec<u8>> = None;
    follower.catch_up(cancel, |message| {
        if message.key() == Some(name.as_bytes()) {
            last = message.payload().map(<[u8]>::to_vec);
        }
    })?;
    match last {
        None => Ok(Cursor::default()),
        Some(bytes) => Cursor::decode(&bytes).map_err(|reason| PullError::Cursor {
            name: name.to_string(),
            reason,
        }),
    }
}

/// The first page of a poll: events created at or after the cursor, oldest first.
pub fn first_page(config: &PullConfig, cursor: &Cursor) -> Result<url::Url, PullError> {
    let base = config.url.trim_end_matches('/');
    let mut url =
        url::Url::parse(&format!("{base}/v2/events")).map_err(|error| PullError::Http {
            url: config.url.clone(),
            reason: error.to_string(),
        })?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("limit", &config.limit.to_string());
        query.append_pair("sort", "eventCreatedDateTime:ASC");
        if let Some(after) = &cursor.after {
            query.append_pair("eventCreatedDateTime:gte", after);
        }
    }
    Ok(url)
}

/// The page after `current`: DCSA's `Next-Page` header is a link (absolute, or relative to the
/// page) or a bare cursor value, which goes in the `cursor` parameter of the events URL.
pub fn next_page(
    config: &PullConfig,
    current: &url::Url,
    header: Option<&str>,
) -> Option<url::Url> {
    let next = header?.trim();
    if next.is_empty() {
        return None;
    }
    if next.starts_with("http://") || next.starts_with("https://") || next.starts_with('/') {
        return current.join(next).ok();
    }
    let base = config.url.trim_end_matches('/');
    let mut url = url::Url::parse(&format!("{base}/v2/events")).ok()?;
    url.query_pairs_mut().append_pair("cursor", next);
    Some(url)
}

/// Polls until cancelled (or, with `once`, until the carrier has nothing more).
pub fn run(
    brokers: &str,
    topics: &Topics,
    config: &PullConfig,
    cancel: &CancellationToken,
) -> Result<PullSummary, PullError> {
    let topic = topics.pull();
    let mut cursor = load_cursor(brokers, &topic, &config.name, cancel)?;
    tracing::info!(name = %config.name, after = ?cursor.after, "pull: resuming from the stored cursor");
    let publisher = Publisher::transactional(
        brokers,
        &format!("kouan-pull-{}-{}", topics.namespace(), config.name),
    )?;
    let sink = EventSink::new(&publisher, topics);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|error| PullError::Http {
            url: config.url.clone(),
            reason: error.to_string(),
        })?;
    let zones = SourceZones::default();
    let mut summary = PullSummary::default();
    while !cancel.is_cancelled() {
        let mut next = Some(first_page(config, &cursor)?);
        while let Some(url) = next.take() {
            if cancel.is_cancelled() {
                break;
            }
            let (page, next_header) = fetch(&http, config, &url)?;
            let fresh = cursor.take(page);
            let context = Context {
                zones: &zones,
                source: Some(&config.source),
                reference_time: kouan_model::Timestamp::from_unix_millis(0).expect("in range"),
            };
            let body = serde_json::to_vec(&fresh).expect("json values serialize");
            let outcomes = if fresh.is_empty() {
                Vec::new()
            } else {
                Format::Dcsa.parse(&body, &context)
            };
            let origin = format!("pull {}: {url}", config.name);
            let published = publish_page(
                &publisher, &sink, &topic, config, &cursor, &outcomes, &origin,
            );
            if let Err(error) = published {
                // nothing of this page is visible: the next run starts from the committed cursor
                let _ = publisher.abort();
                return Err(error);
            }
            let taken: u64 = outcomes.iter().map(|o| o.taken().count() as u64).sum();
            let rejected: u64 = outcomes.iter().map(|o| o.rejections().count() as u64).sum();
            summary.pages += 1;
            summary.taken += taken;
            summary.rejected += rejected;
            tracing::info!(name = %config.name, page = %url, taken, rejected, after = ?cursor.after, "pull: page committed");
            next = next_page(config, &url, next_header.as_deref());
        }
        if config.once {
            break;
        }
        let _ = cancel_sleep(cancel, config.every);
    }
    Ok(summary)
}

/// One page: its events and its `Next-Page` header.
fn fetch(
    http: &reqwest::blocking::Client,
    config: &PullConfig,
    url: &url::Url,
) -> Result<(Vec<Value>, Option<String>), PullError> {
    let failed = |reason: String| PullError::Http {
        url: url.to_string(),
        reason,
    };
    let mut request = http.get(url.clone()).header("API-Version", "2.2.0");
    if let Some(token) = &config.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().map_err(|error| failed(error.to_string()))?;
    let status = response.status();
    let next = response
        .headers()
        .get("Next-Page")
        .and_then(|value| value.to_str().ok())
        .map(String::from);
    let text = response.text().map_err(|error| failed(error.to_string()))?;
    if !status.is_success() {
        return Err(failed(format!(
            "answered {status}: {}",
            text.chars().take(300).collect::<String>()
        )));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(events)) => Ok((events, next)),
        Ok(_) => Err(failed("the answer is not a JSON array of events".into())),
        Err(error) => Err(failed(format!("the answer is not JSON: {error}"))),
    }
}

/// The page's events, its rejections and the cursor after it, in one transaction.
fn publish_page(
    publisher: &Publisher,
    sink: &EventSink<'_>,
    topic: &str,
    config: &PullConfig,
    cursor: &Cursor,
    outcomes: &[kouan_standards::MessageOutcome],
    origin: &str,
) -> Result<(), PullError> {
    publisher.begin()?;
    for outcome in outcomes {
        for item in &outcome.items {
            match item {
                Ok(event) => sink.publish(event)?,
                Err(reject) => sink.reject(
                    &outcome.raw,
                    reject,
                    &format!("{origin}: {}", outcome.reference),
                )?,
            }
        }
    }
    publisher.send(topic, Some(config.name.as_bytes()), &cursor.encode(), None)?;
    publisher.commit_records()?;
    Ok(())
}

/// Sleeps `pause`, or less when cancelled; true when cancelled.
fn cancel_sleep(cancel: &CancellationToken, pause: Duration) -> bool {
    let step = Duration::from_millis(200);
    let mut left = pause;
    while !left.is_zero() {
        if cancel.is_cancelled() {
            return true;
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    cancel.is_cancelled()
}
