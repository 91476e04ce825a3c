//! The operations endpoint: `/metrics` (Prometheus text), `/healthz` (the process answers),
//! `/readyz` (NATS connected, streams present, PostgreSQL taking writes where the process uses it)
//! and `/status` (the service at a glance as JSON, [`crate::status`]; the worker's). The worker
//! and the scheduler both serve it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::metrics::metrics;
use crate::settings::Topology;
use crate::store::Store;

/// Longest a readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pub client: async_nats::Client,
    /// The database, in a process that has one (the scheduler has none).
    pub store: Option<Store>,
    pub topology: Topology,
    /// The schedules this process runs, for `/status`.
    pub schedules: crate::status::Schedules,
}

/// Serves the operations endpoint on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    info!(%addr, "serving /metrics, /healthz, /readyz and /status");
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/status", get(status))
        .with_state(readiness);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn metrics_text() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics().encode(),
    )
}

async fn status(State(r): State<Readiness>) -> axum::response::Response {
    let Some(store) = &r.store else {
        return (
            StatusCode::NOT_FOUND,
            "this process has no database; ask a worker's /status\n",
        )
            .into_response();
    };
    let js = async_nats::jetstream::new(r.client.clone());
    match crate::status::gather(store, Some(&js), &r.topology, &r.schedules).await {
        Ok(status) => axum::Json(status).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", crate::telemetry::error_chain(&e)),
        )
            .into_response(),
    }
}

async fn ready(State(r): State<Readiness>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if r.client.connection_state() != async_nats::connection::State::Connected {
        problems.push("NATS is not connected".to_owned());
    } else {
        let js = async_nats::jetstream::new(r.client.clone());
        for stream in [&r.topology.stream, &r.topology.results_stream] {
            match tokio::time::timeout(CHECK_TIMEOUT, js.get_stream(stream)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => problems.push(format!("stream {stream}: {e}")),
                Err(_) => problems.push(format!("stream {stream}: no answer")),
            }
        }
    }
    if let Some(store) = &r.store {
        // A write that changes nothing: a database that answers but refuses writes (read-only,
        // a replica after a failover) is not ready either.
        match tokio::time::timeout(CHECK_TIMEOUT, store.check_writable()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_read_only() => problems.push(format!(
                "PostgreSQL takes no writes: {}",
                crate::telemetry::error_chain(&e)
            )),
            Ok(Err(e)) => problems.push(format!(
                "PostgreSQL is not reachable: {}",
                crate::telemetry::error_chain(&e)
            )),
            Err(_) => problems.push("PostgreSQL is not reachable: no answer".to_owned()),
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", problems.join("\n")),
        )
    }
}
