//! catalog-sync keeps a commerce catalog in PostgreSQL in sync with an upstream product API.
//!
//! The data path reads top-down:
//!
//! - [`config`] turns environment variables and flags into validated settings; [`credentials`]
//!   takes user info out of configured URLs and redacts them wherever they are shown.
//! - [`upstream`] talks to the DummyJSON-compatible product API: paging, `select`, single products,
//!   timeouts and bounded retries.
//! - [`domain`] holds the pure types: products, categories, handles, content hashes, run summaries.
//! - [`engine`] runs a full or targeted sync: pages in flight, batches, archiving, run records.
//! - [`store`] is the PostgreSQL adapter: migrations, batched upserts, run records.
//! - [`bus`] is the NATS JetStream adapter: connections, stream and consumer set-up, traced
//!   publishes.
//! - [`messages`] holds every message body: typed, encoded, decoded and validated in one place.
//! - [`worker`] consumes sync requests from JetStream and publishes run summaries.
//! - [`scheduler`] publishes sync requests on a cron schedule, one per slot across replicas.
//! - [`metrics`] and [`health`] serve Prometheus metrics, `/healthz` and `/readyz`.
//! - [`telemetry`] sets up logs and OTLP span export, and carries W3C trace context in NATS and
//!   HTTP headers.
//! - [`cli`] is the command line on top of all of it.

pub mod app;
pub mod bus;
pub mod cli;
pub mod credentials;
pub mod domain;
pub mod engine;
pub mod health;
pub mod messages;
pub mod metrics;
pub mod scheduler;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod upstream;
pub mod worker;
