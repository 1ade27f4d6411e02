//! Prometheus metrics of the query service (and, under `kouan up`, of the whole process):
//! request counts and latency by route, store and feed gauges, webhook deliveries. Other
//! services register their own families in the same registry through [`Metrics::registry`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntakeLabels {
    pub format: String,
    /// `taken` or `rejected`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

pub struct Metrics {
    registry: parking_lot::Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub records: Family<TopicLabels, Counter>,
    pub rejected: Family<TopicLabels, Counter>,
    pub lag: Family<TopicLabels, Gauge>,
    pub shipments: Gauge,
    pub alerts_firing: Gauge,
    pub feed_clients: Gauge,
    pub webhook_deliveries: Family<ResultLabels, Counter>,
    pub snapshot_refresh: Histogram,
    pub intake_events: Family<IntakeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kouan");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.5, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let records = Family::<TopicLabels, Counter>::default();
        registry.register(
            "store_records",
            "records the store read, by topic",
            records.clone(),
        );
        let rejected = Family::<TopicLabels, Counter>::default();
        registry.register(
            "store_rejected",
            "records the store could not decode, by topic",
            rejected.clone(),
        );
        let lag = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "store_consumer_lag",
            "records on the topic the store has not read yet",
            lag.clone(),
        );
        let shipments = Gauge::default();
        registry.register(
            "store_shipments",
            "shipments in the store",
            shipments.clone(),
        );
        let alerts_firing = Gauge::default();
        registry.register(
            "store_alerts_firing",
            "alerts in state FIRING in the store",
            alerts_firing.clone(),
        );
        let feed_clients = Gauge::default();
        registry.register(
            "feed_clients",
            "open Server-Sent Events feeds",
            feed_clients.clone(),
        );
        let webhook_deliveries = Family::<ResultLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "webhook POSTs by result (ok, failed)",
            webhook_deliveries.clone(),
        );
        let snapshot_refresh = Histogram::new(exponential_buckets(0.0005, 2.5, 12));
        registry.register(
            "snapshot_refresh_seconds",
            "time to rebuild the changed chunks of the SQL snapshot",
            snapshot_refresh.clone(),
        );
        let intake_events = Family::<IntakeLabels, Counter>::default();
        registry.register(
            "intake_events",
            "events pushed through the HTTP intake, by format and outcome (taken, rejected)",
            intake_events.clone(),
        );
        Self {
            registry: parking_lot::Mutex::new(registry),
            requests,
            latency,
            records,
            rejected,
            lag,
            shipments,
            alerts_firing,
            feed_clients,
            webhook_deliveries,
            snapshot_refresh,
            intake_events,
        }
    }

    /// Lets other services of the process add their metrics.
    pub fn registry(&self) -> parking_lot::MutexGuard<'_, Registry> {
        self.registry.lock()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry.lock())
            .expect("writing to a String");
        out
    }
}
