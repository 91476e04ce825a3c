//! Logs and traces. Logs go to stderr (stdout belongs to command output such as `--json`
//! summaries): readable on a terminal, JSON lines with `LOG_FORMAT=json`. Spans are exported over
//! OTLP when an endpoint is configured through the standard `OTEL_*` variables ([`otel`]); W3C
//! trace context crosses NATS and HTTP through [`context`]. `RUST_LOG` filters both.

mod context;
mod fields;
mod otel;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

pub use context::{adopt, extract, inject, trace_headers, trace_id};
/// A trace context: where a span or a message sits in a trace (possibly nowhere).
pub use opentelemetry::Context as TraceContext;

/// Default filter when `RUST_LOG` is unset: our own info, quieter dependencies.
const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn,reqwest=warn,opentelemetry=warn";

/// Targets whose spans and events never become exported spans: the exporter's own HTTP and gRPC
/// stack, or exporting spans would make more spans.
const NOT_TRACED: [&str; 8] = [
    "opentelemetry",
    "tonic",
    "h2",
    "hyper",
    "tower",
    "reqwest",
    "rustls",
    "want",
];

/// Whether a span or event may become an exported span or span event: anything `RUST_LOG` lets
/// through but the exporter's own stack.
fn traced(metadata: &tracing::Metadata<'_>) -> bool {
    let target = metadata.target();
    !NOT_TRACED.iter().any(|t| target.starts_with(t))
}

/// Handle on the installed telemetry; [`Telemetry::shutdown`] flushes buffered spans.
#[must_use = "call shutdown() before exit, or buffered spans are lost"]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter. The SDK blocks while it
    /// flushes, so this runs on the blocking pool rather than stalling the runtime's threads.
    pub async fn shutdown(self) {
        let Some(provider) = self.tracer else { return };
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not flush spans: {e}"),
            Err(e) => eprintln!("warning: could not flush spans: {e}"),
        }
    }
}

/// Filter of `-vv` when `RUST_LOG` is unset: our details, the transport stacks still quiet.
const DEBUG_FILTER: &str =
    "debug,sqlx=info,hyper=info,h2=info,tower=info,reqwest=info,rustls=info,opentelemetry=info";

/// How a command wants its logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Logging {
    /// Log lines below WARN are left out (a command typed at a terminal).
    pub quiet: bool,
    /// `-v` count: 1 brings info lines back, 2 adds debug.
    pub verbose: u8,
}

impl Logging {
    /// The filter of spans and events, and the lowest level printed, given `RUST_LOG`.
    fn levels(self, rust_log: Option<&str>) -> (String, tracing::level_filters::LevelFilter) {
        use tracing::level_filters::LevelFilter;
        match rust_log.filter(|spec| !spec.is_empty()) {
            Some(spec) => (spec.to_owned(), LevelFilter::TRACE),
            None if self.verbose >= 2 => (DEBUG_FILTER.to_owned(), LevelFilter::TRACE),
            None if self.verbose == 0 && self.quiet => {
                // Spans stay at info (they are still exported); only the printing is quiet.
                (DEFAULT_FILTER.to_owned(), LevelFilter::WARN)
            }
            None => (DEFAULT_FILTER.to_owned(), LevelFilter::TRACE),
        }
    }
}

/// Installs the global subscriber: the log layer and, when configured, the OTLP span exporter,
/// whose spans name `service` (the process's role) unless `OTEL_SERVICE_NAME` or
/// `OTEL_RESOURCE_ATTRIBUTES` names another. Fails with the name of the variable on an unknown
/// `LOG_FORMAT`, a bad `RUST_LOG` or a bad `OTEL_*` setting.
pub fn init(logging: Logging, service: &str) -> anyhow::Result<Telemetry> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (spec, printed) = logging.levels(rust_log.as_deref());
    let filter = EnvFilter::try_new(&spec)
        .map_err(|e| anyhow::anyhow!("RUST_LOG: invalid filter {spec:?}: {e}"))?;
    let span_events = if std::env::var_os("LOG_SPAN_CLOSE").is_some() {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(span_events);
    let logs = match std::env::var("LOG_FORMAT").unwrap_or_default().as_str() {
        // Text logs leave out the OpenTelemetry attributes (dotted names such as
        // `messaging.system`): they are for the trace backend, not for a person reading logs.
        "" | "text" => logs
            .fmt_fields(fields::ReadableFields)
            .with_filter(printed)
            .boxed(),
        "json" => logs.json().flatten_event(true).with_filter(printed).boxed(),
        other => anyhow::bail!("LOG_FORMAT: expected text or json, got {other:?}"),
    };
    let tracer = otel::provider_from_env(service)?;
    let spans = tracer.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
            .with_threads(false)
            .with_filter(tracing_subscriber::filter::filter_fn(traced))
    });
    // One filter for logs and spans alike. Separate level filters per layer (an EnvFilter for
    // the logs, another for the spans) lost log lines and span prefixes in tracing-subscriber
    // 0.3.23, so `RUST_LOG` decides both; the default keeps every span of ours.
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(spans)
        .try_init()
        .map_err(|e| anyhow::anyhow!("could not install the logger: {e}"))?;
    Ok(Telemetry { tracer })
}

/// Records an outcome as the span's OpenTelemetry status: ok, or error with why. The span must
/// declare the `otel.status_code` and `otel.status_description` fields.
pub fn record_status(span: &tracing::Span, error: Option<&str>) {
    match error {
        None => span.record("otel.status_code", "ok"),
        Some(description) => {
            span.record("otel.status_code", "error");
            span.record("otel.status_description", description)
        }
    };
}

/// [`record_status`] of a result.
pub fn record_result<T, E: std::fmt::Display>(span: &tracing::Span, result: &Result<T, E>) {
    record_status(
        span,
        result.as_ref().err().map(ToString::to_string).as_deref(),
    );
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
    use tracing::level_filters::LevelFilter;

    #[test]
    fn a_command_at_a_terminal_prints_warnings_only_unless_asked() {
        let quiet = Logging {
            quiet: true,
            verbose: 0,
        };
        assert_eq!(quiet.levels(None).1, LevelFilter::WARN);
        assert_eq!(quiet.levels(None).0, DEFAULT_FILTER, "spans are still made");
        let verbose = Logging {
            quiet: true,
            verbose: 1,
        };
        assert_eq!(verbose.levels(None).1, LevelFilter::TRACE);
        assert_eq!(
            Logging {
                quiet: true,
                verbose: 2
            }
            .levels(None)
            .0,
            DEBUG_FILTER
        );
        assert_eq!(
            quiet.levels(Some("catalog_sync=debug")),
            ("catalog_sync=debug".to_owned(), LevelFilter::TRACE),
            "RUST_LOG decides"
        );
        let service = Logging::default();
        assert_eq!(service.levels(None).1, LevelFilter::TRACE);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chains_list_each_cause_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(error_chain(&e), "outer: disk on fire");
    }
}
