//! Logging setup and error formatting. Logs go to stderr (stdout belongs to command output such
//! as `--json` summaries): readable on a terminal, JSON lines with `LOG_FORMAT=json`, filtered by
//! `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Default filter when `RUST_LOG` is unset: our own info, quieter dependencies.
const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn,reqwest=warn";

/// Installs the global subscriber. Fails on an unknown `LOG_FORMAT` or a bad `RUST_LOG`.
pub fn init_logging() -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(&spec)
            .map_err(|e| anyhow::anyhow!("RUST_LOG: invalid filter {spec:?}: {e}"))?,
        _ => EnvFilter::new(DEFAULT_FILTER),
    };
    let format = std::env::var("LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(if std::env::var_os("LOG_SPAN_CLOSE").is_some() {
            FmtSpan::CLOSE
        } else {
            FmtSpan::NONE
        });
    match format.as_str() {
        "" | "text" => builder.try_init(),
        "json" => builder.json().flatten_event(true).try_init(),
        other => anyhow::bail!("LOG_FORMAT: expected text or json, got {other:?}"),
    }
    .map_err(|e| anyhow::anyhow!("could not install the logger: {e}"))
}

/// An error and its sources on one line, each cause once.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chains_list_each_cause_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(error_chain(&e), "outer: disk on fire");
    }
}
