//! The integration tests, one binary: each module runs the service against its own nats-server
//! (started on a free port with a temporary store), its own PostgreSQL database (created and
//! dropped by `#[sqlx::test]`) and the simulated upstream. Nothing else is simulated.
//!
//! - [`sync_engine`]: the engine against the simulator and the database (full, targeted and
//!   incremental runs, faults, the integrity rules).
//! - [`sources`]: upstream source files against the simulator serving each paging style.
//! - [`worker`]: the worker wired by [`crate::support::app::TestApp`] exactly as the binary
//!   wires it, driven through JetStream.
//! - [`worker_process`] and [`cli`]: the `catalog-sync` binary as a child process.
//! - [`ingress`]: the webhook ingress (signatures, answers, the bus down, bursts) and shop
//!   webhooks through the worker into the catalog ([`ingress_shop`]).
//! - [`traces`]: span export to an OTLP receiver the tests start.
//! - [`cluster`]: a three-node JetStream cluster losing a node.
//! - [`converge`]: the convergence checker (random schedules of changes and faults).
//! - [`demo`]: `scripts/demo` run as a person runs it, with the built binary.
//! - [`deploy`]: the deployment files against the binaries (what no linter can check).
//! - [`medusa`]: the harness for a real Medusa v2 server (`scripts/medusa`) and the proxy in
//!   front of it (counts requests, goes down, holds writes or answers back);
//!   [`medusa_sink`], [`medusa_drift`] and [`medusa_pusher`]: the Medusa sink against it;
//!   [`medusa_switch`]: its off switch, without a Medusa server.

mod archive_plan;
mod cli;
mod cli_output;
mod cluster;
mod converge;
mod database_faults;
mod decoding;
mod demo;
mod deploy;
mod fingerprints;
mod ingress;
mod ingress_shop;
mod medusa;
mod medusa_drift;
mod medusa_pusher;
mod medusa_sink;
mod medusa_switch;
mod medusa_upgrade;
mod medusa_variants;
mod resume;
mod shop_presets;
mod sources;
mod support;
mod sync_engine;
mod traces;
mod variants;
mod versions;
mod worker;
mod worker_process;
