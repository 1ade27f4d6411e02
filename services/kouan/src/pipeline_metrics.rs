//! Prometheus metrics of the processor and the alerter when they run inside a process that
//! serves `/metrics` (`kouan up`): read from their counters at scrape time.

use kouan_alerter::runner::AlertStats;
use kouan_bus::Topics;
use kouan_processor::runner::ProcessStats;
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
    pub process: Arc<ProcessStats>,
    pub alert: Arc<AlertStats>,
}

impl Collector for PipelineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter =
            |value: &std::sync::atomic::AtomicU64| ConstCounter::new(value.load(Ordering::Relaxed));
        {
            let mut family = encoder.encode_descriptor(
                "processor_events_in",
                "valid events the processor read, by topic",
                None,
                MetricType::Counter,
            )?;
            for (kind, count) in kouan_model::BodyKind::ALL
                .iter()
                .zip(&self.process.events_by_kind)
            {
                let labels = [("topic", self.topics.events(*kind))];
                counter(count).encode(family.encode_family(&labels)?)?;
            }
        }
        for (name, help, value) in [
            (
                "processor_rejected",
                "invalid events dead-lettered by the processor",
                &self.process.rejected,
            ),
            (
                "alerter_status_in",
                "status records the alerter read",
                &self.alert.records,
            ),
            (
                "alerter_alerts_out",
                "alert records the alerter published",
                &self.alert.published,
            ),
        ] {
            counter(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        {
            let mut family = encoder.encode_descriptor(
                "processor_status_out",
                "status records the processor published, by topic",
                None,
                MetricType::Counter,
            )?;
            let labels = [("topic", self.topics.status())];
            counter(&self.process.published).encode(family.encode_family(&labels)?)?;
        }
        ConstGauge::new(self.alert.firing.load(Ordering::Relaxed) as i64).encode(
            encoder.encode_descriptor(
                "alerts_firing",
                "alerts the alerter holds FIRING",
                None,
                MetricType::Gauge,
            )?,
        )?;
        let (sum, count, buckets) = self.process.latency.snapshot();
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
        Ok(())
    }
}
