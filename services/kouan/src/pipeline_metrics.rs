//! Prometheus metrics of the processor and the alerter when they run inside a process that
//! serves `/metrics` (`kouan up`): read from their counters at scrape time.

use kouan_alerter::runner::AlertStats;
use kouan_bus::Topics;
use kouan_processor::stats::ProcessStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[derive(Debug)]
pub struct PipelineCollector {
    pub topics: Topics,
    /// `None` where the process runs no processor (`kouan alert`), and likewise below.
    pub process: Option<Arc<ProcessStats>>,
    pub alert: Option<Arc<AlertStats>>,
}

impl Collector for PipelineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter =
            |value: &std::sync::atomic::AtomicU64| ConstCounter::new(value.load(Ordering::Relaxed));
        if let Some(process) = &self.process {
            {
                let mut family = encoder.encode_descriptor(
                    "processor_events_in",
                    "valid events the processor read, by topic",
                    None,
                    MetricType::Counter,
                )?;
                for (kind, count) in kouan_model::BodyKind::ALL
                    .iter()
                    .zip(&process.events_by_kind)
                {
                    let labels = [("topic", self.topics.events(*kind))];
                    counter(count).encode(family.encode_family(&labels)?)?;
                }
            }
            counter(&process.rejected).encode(encoder.encode_descriptor(
                "processor_rejected",
                "invalid events dead-lettered by the processor",
                None,
                MetricType::Counter,
            )?)?;
            {
                let mut family = encoder.encode_descriptor(
                    "processor_late_events",
                    "late events dead-lettered by the processor: of forgotten shipments, of conveyances nothing reached before the horizon",
                    None,
                    MetricType::Counter,
                )?;
                for (reason, count) in [
                    ("forgotten_shipment", &process.late_forgotten),
                    ("unreached_conveyance", &process.late_unreached),
                ] {
                    counter(count).encode(family.encode_family(&[("reason", reason)])?)?;
                }
            }
            {
                let mut family = encoder.encode_descriptor(
                    "processor_local_bytes",
                    "bytes the processor holds on local disk: its checkpoint (--state-dir), the park's and the spill's scratch files",
                    None,
                    MetricType::Gauge,
                )?;
                for (file, bytes) in [
                    ("checkpoint", &process.checkpoint_bytes),
                    ("park", &process.park_bytes),
                    ("spill", &process.spill_bytes),
                ] {
                    ConstGauge::new(bytes.load(Ordering::Relaxed) as i64)
                        .encode(family.encode_family(&[("file", file)])?)?;
                }
            }
            counter(&process.restored).encode(encoder.encode_descriptor(
                "processor_restored_records",
                "by-shipment records the processor's restores read (partitions assigned)",
                None,
                MetricType::Counter,
            )?)?;
            counter(&process.lost).encode(encoder.encode_descriptor(
                "processor_events_lost",
                "event records retention deleted before the router read them",
                None,
                MetricType::Counter,
            )?)?;
            {
                let mut family = encoder.encode_descriptor(
                    "processor_status_out",
                    "status records the processor published, by topic",
                    None,
                    MetricType::Counter,
                )?;
                let labels = [("topic", self.topics.status())];
                counter(&process.published).encode(family.encode_family(&labels)?)?;
            }
            ConstGauge::new(process.lag.load(Ordering::Relaxed)).encode(
                encoder.encode_descriptor(
                    "processor_consumer_lag",
                    "event records on the topics the processor has not read yet",
                    None,
                    MetricType::Gauge,
                )?,
            )?;
            let idle = process.live.load(Ordering::Relaxed)
                && process.quiet.load(Ordering::Relaxed)
                && process.router_quiet.load(Ordering::Relaxed);
            ConstGauge::new(i64::from(idle)).encode(encoder.encode_descriptor(
                "processor_idle",
                "1 while the processor is live and its last cycles found nothing to route, \
                 apply or publish",
                None,
                MetricType::Gauge,
            )?)?;
            let (sum, count, buckets) = process.latency.snapshot();
            encoder
                .encode_descriptor(
                    "processor_latency_seconds",
                    "event publication to status record publication",
                    None,
                    MetricType::Histogram,
                )?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    sum, count, &buckets, None,
                )?;
            let mut family = encoder.encode_descriptor(
                "processor_commit_seconds",
                "time to commit a transaction (its records acknowledged, its offsets sent), \
                 by stage: the router's or the shipment stage's",
                None,
                MetricType::Histogram,
            )?;
            for (stage, histogram) in [
                ("router", &process.router_commit),
                ("shipments", &process.stage_commit),
            ] {
                let (sum, count, buckets) = histogram.snapshot();
                family
                    .encode_family(&[("stage", stage)])?
                    .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    sum, count, &buckets, None,
                )?;
            }
        }
        if let Some(alert) = &self.alert {
            counter(&alert.records).encode(encoder.encode_descriptor(
                "alerter_status_in",
                "status records the alerter read",
                None,
                MetricType::Counter,
            )?)?;
            counter(&alert.published).encode(encoder.encode_descriptor(
                "alerter_alerts_out",
                "alert records the alerter published",
                None,
                MetricType::Counter,
            )?)?;
            ConstGauge::new(alert.firing.load(Ordering::Relaxed) as i64).encode(
                encoder.encode_descriptor(
                    "alerts_firing",
                    "alerts the alerter holds FIRING",
                    None,
                    MetricType::Gauge,
                )?,
            )?;
        }
        Ok(())
    }
}

/// Serves [`serve`] in the background; if it fails (the port is taken), the process stops.
pub fn spawn(
    listen: std::net::SocketAddr,
    collector: PipelineCollector,
    cancel: tokio_util::sync::CancellationToken,
) {
    tokio::spawn(async move {
        if let Err(error) = serve(listen, collector, cancel.clone()).await {
            tracing::error!(
                error = format!("{error:#}"),
                "metrics endpoint failed, stopping"
            );
            cancel.cancel();
        }
    });
}

/// `/metrics` (and `/healthz`) of a service without the API (`kouan process`, `kouan alert`).
pub async fn serve(
    listen: std::net::SocketAddr,
    collector: PipelineCollector,
    cancel: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use axum::routing::get;
    let mut registry = prometheus_client::registry::Registry::with_prefix("kouan");
    registry.register_collector(Box::new(collector));
    let registry = Arc::new(registry);
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    let mut out = String::new();
                    prometheus_client::encoding::text::encode(&mut out, &registry)
                        .map(|_| out)
                        .unwrap_or_default()
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen} for metrics"))?;
    tracing::info!(listen = %listener.local_addr()?, "metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
        .context("serving metrics")
}
