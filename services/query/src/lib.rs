//! kouan's status store and query service (`kouan serve`, API.md).
//!
//! Follow a record: the [`runner`] reads `kouan.status` and `kouan.alerts` into the [`store`]
//! (latest record per shipment and alert, indexes, change log); the [`snapshot`] turns the store
//! into Arrow tables for [`sql`] and [`kpi`]; the [`api`] answers lookups and lists from the store,
//! the [`feed`] and [`webhook`]s push its change log to shippers, each caller seeing only what
//! [`auth`] allows.
//!
//! - [`auth`]: the auth file and who may see what.
//! - [`record`]: a shipment's latest status record and an alert, with their JSON forms.
//! - [`position`]: resume tokens — next offsets per topic partition.
//! - [`store`]: latest records, indexes for lookups and lists, the change log for feeds.
//! - [`dcsa`]: every shipment's DCSA Track & Trace events, for `/dcsa/tnt` and its subscriptions.
//! - [`checkpoint`]: the store's records and offsets on local disk, for a fast restart.
//! - [`snapshot`]: the Arrow tables `shipments`, `milestones`, `alerts` and their DataFusion provider.
//! - [`sql`]: read-only, bounded SQL with JSON and Arrow IPC answers.
//! - [`kpi`]: the clearance-time KPI over the snapshot.
//! - [`feed`]: Server-Sent Events with `Last-Event-ID` resume.
//! - [`destination`]: where webhooks may go (no loopback, private or metadata addresses).
//! - [`webhook`]: signed, retried, ordered webhook deliveries; subscriptions on a topic.
//! - [`metrics`]: Prometheus metrics.
//! - [`dashboard`]: the embedded dashboard page.
//! - [`api`]: the axum router, auth and audit layers.
//! - [`http_server`]: the HTTP/1.1 server loop with header deadlines and a connection cap.
//! - [`runner`]: follows the topics and serves.

pub mod api;
pub mod auth;
pub mod checkpoint;
pub mod dashboard;
pub mod dcsa;
pub mod dead_letters;
pub mod destination;
pub mod error;
pub mod feed;
pub mod http_server;
pub mod ingest;
pub mod kpi;
pub mod metrics;
pub mod position;
pub mod record;
pub mod runner;
pub mod snapshot;
pub mod sql;
pub mod store;
pub mod webhook;

pub use auth::{Auth, Caller, Role};
pub use error::QueryError;
pub use metrics::Metrics;
pub use runner::{HttpLimits, ServeConfig, Server};
pub use sql::SqlLimits;
pub use store::Store;
pub use webhook::WebhookLimits;

/// Installs the TLS crypto provider of the HTTP client (webhooks to `https` callbacks,
/// `kouan sql` to an `https` server). Idempotent.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
