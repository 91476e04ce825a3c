//! Entry point: parse the command line, start logging and tracing, run the command, flush the
//! spans, map the outcome to an exit code.

use std::process::ExitCode;

use catalog_sync::cli;
use catalog_sync::telemetry;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let cli = cli::parse();
    // async-nats, sqlx and reqwest share rustls; exactly one crypto provider must be installed
    // before any TLS configuration is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let telemetry = match telemetry::init(cli.logging(), cli.service_name()) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            cli::say_error(&e);
            return ExitCode::from(cli::exit::CONFIG);
        }
    };
    let shutdown = cli::cancel_on_signals();
    let code = match cli::run(cli, shutdown).await {
        Ok(code) => code,
        Err(e) => {
            cli::say_error(&e);
            ExitCode::from(cli::exit_code(&e))
        }
    };
    telemetry.shutdown().await;
    code
}

/// glibc gives every thread that allocates its own arena; with batches allocated on one worker
/// thread and freed on another, the arenas fragment and resident memory creeps up over a long
/// sync. Two arenas keep memory flat at no measurable cost in throughput.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator settings; called before the runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
