//! catalog-sync keeps a commerce catalog in PostgreSQL in sync with an upstream product API.
//!
//! The data path reads top-down: a message arrives, the engine runs it against the upstream
//! and the store, its summary is published, and the message is settled.
//!
//! - [`cli`] turns flags and environment variables into the [`settings`] tree, and [`app`]
//!   builds and runs the service from it (the tests start the same wiring).
//! - [`messages`] holds every message body: typed, encoded, decoded and validated in one place.
//! - [`worker`] consumes sync requests and product events; one decision settles each message
//!   (ack, deliver again later, hand back, dead-letter). [`scheduler`] requests syncs on a cron
//!   schedule, one per slot across replicas.
//! - [`engine`] runs full, targeted, incremental and changes syncs: requests in, summaries out.
//! - [`upstream`] (the product API, as a [`source`] file describes it), [`store`] (PostgreSQL)
//!   and [`bus`] (NATS JetStream, dead letters included) are the adapters; each owns its errors
//!   and says whether one is worth retrying.
//! - [`ingress`] turns signed shop webhooks (Shopify, WooCommerce, Standard Webhooks) into
//!   messages on the bus, answering only once JetStream has them.
//! - [`domain`] holds the pure types: products, prices, ids, handles, content hashes, summaries.
//! - [`telemetry`], [`metrics`], [`health`] and [`status`]: logs, OTLP spans and trace
//!   context, Prometheus metrics, `/healthz`, `/readyz` and `/status`. [`credentials`] takes user info out of configured URLs
//!   and redacts it wherever it is shown.

pub mod app;
pub mod bus;
pub mod cli;
pub mod credentials;
pub mod domain;
pub mod engine;
pub mod health;
pub mod ingress;
pub mod medusa;
pub mod messages;
pub mod metrics;
pub mod retry;
pub mod scheduler;
pub mod settings;
pub mod source;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod upstream;
pub mod worker;
