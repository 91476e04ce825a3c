//! `catalog-sync-simulator`: serves the simulated upstream (DummyJSON, WooCommerce, Shopify,
//! cursor and next-URL shapes of one catalog) until SIGINT or SIGTERM. Prints
//! `listening on <url>` on stdout once it accepts requests; logs go to stderr (`RUST_LOG`).

use std::process::ExitCode;

use catalog_sync_simulator::SimulatorArgs;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Serve a product API over a synthetic (or file) catalog in several APIs' shapes.
#[derive(Parser, Debug)]
#[command(name = "catalog-sync-simulator", version, about)]
struct Cli {
    #[command(flatten)]
    args: SimulatorArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match catalog_sync_simulator::run(cli.args, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The first SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
