//! Entry point: parse the command line, start logging, run the command, map the outcome to an
//! exit code.

use std::process::ExitCode;

use clap::Parser;

use catalog_sync::cli::{self, Cli};
use catalog_sync::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // async-nats, sqlx and reqwest share rustls; exactly one crypto provider must be installed
    // before any TLS configuration is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Err(e) = telemetry::init_logging() {
        eprintln!("error: {e:#}");
        return ExitCode::from(78);
    }
    let shutdown = cli::cancel_on_signals();
    match cli::run(cli, shutdown).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
