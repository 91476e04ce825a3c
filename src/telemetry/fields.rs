//! How span and event fields read in text logs: `name=value`, the message bare, and without the
//! OpenTelemetry attributes. Those carry dotted names (`messaging.system`, `otel.kind`,
//! `http.response.status_code`) and would repeat on every line logged inside a span.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::fmt::format::Writer;

/// The text log field formatter.
pub(super) struct ReadableFields;

impl<'writer> FormatFields<'writer> for ReadableFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        write_fields(&mut writer, fields)
    }

    /// Fields recorded later on a span are appended, with no stray separator when all of them
    /// are hidden.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut more = String::new();
        write_fields(&mut more, fields)?;
        if !more.is_empty() {
            if !current.fields.is_empty() {
                current.fields.push(' ');
            }
            current.fields.push_str(&more);
        }
        Ok(())
    }
}

fn write_fields(out: &mut dyn fmt::Write, fields: impl RecordFields) -> fmt::Result {
    let mut visitor = Visitor {
        out,
        result: Ok(()),
        first: true,
    };
    fields.record(&mut visitor);
    visitor.result
}

struct Visitor<'a> {
    out: &'a mut dyn fmt::Write,
    result: fmt::Result,
    first: bool,
}

impl Visitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        let name = field.name();
        if self.result.is_err() || name.contains('.') {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            write!(self.out, "{separator}{value}")
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            write!(self.out, "{separator}{name}={value}")
        };
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_logs_show_our_fields_and_hide_dotted_attributes() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .without_time()
                .fmt_fields(ReadableFields),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "sync.run",
                run_id = 7,
                mode = "full",
                otel.kind = "consumer",
                messaging.system = "nats",
                status = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            );
            span.record("otel.status_code", "ok");
            span.record("status", "succeeded");
            let _entered = span.enter();
            tracing::info!(
                fetched = 3,
                http.response.status_code = 200,
                "sync finished"
            );
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.trim(),
            r#"INFO sync.run{run_id=7 mode="full" status="succeeded"}: catalog_sync::telemetry::fields::tests: sync finished fetched=3"#,
            "{text}"
        );
    }
}
