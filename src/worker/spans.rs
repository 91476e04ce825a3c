//! The consumer spans of messages and batches: each joins the trace its publisher started.

use async_nats::jetstream;
use opentelemetry::trace::TraceContextExt as _;
use tracing::info_span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::telemetry::TraceContext;

/// Most links from a batch's span to the spans of its events (the SDK's default limit).
const MAX_LINKS: usize = 128;

/// The consumer span of one message: its parent is the trace context the publisher put in the
/// headers. Returns the span (not yet entered) and the context to propagate from inside it.
pub fn consumer_span(
    message: &jetstream::Message,
    consumer: &str,
) -> (tracing::Span, TraceContext) {
    let info = message.info().ok();
    let span = info_span!(
        "process",
        otel.name = format!("process {}", message.subject),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.destination.name = message.subject.as_str(),
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.consumer.group.name = consumer,
        messaging.message.body.size = message.payload.len(),
        messaging.nats.stream_sequence = info.as_ref().map(|i| i.stream_sequence),
        messaging.nats.delivery_count = info.as_ref().map(|i| i.delivered),
        request_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    let cx = crate::telemetry::adopt(&span, crate::telemetry::extract(message.headers.as_ref()));
    if let Some(trace_id) = crate::telemetry::trace_id(&cx) {
        span.record("trace_id", trace_id);
    }
    (span, cx)
}

/// The span of a batch of events. A batch mixes events from many publishers: its parent is the
/// first event's context (so a single event's trace shows everything it caused) and it links
/// to the others.
pub fn batch_span(
    subject: &str,
    request_id: &str,
    events: &[TraceContext],
) -> (tracing::Span, TraceContext) {
    let span = info_span!(
        "process",
        otel.name = format!("process {subject} batch"),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.destination.name = subject,
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.batch.message_count = events.len(),
        request_id,
        trace_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    let parent = events.first().cloned().unwrap_or_default();
    for cx in events.iter().skip(1).take(MAX_LINKS) {
        span.add_link(cx.span().span_context().clone());
    }
    let cx = crate::telemetry::adopt(&span, parent);
    if let Some(trace_id) = crate::telemetry::trace_id(&cx) {
        span.record("trace_id", trace_id);
    }
    (span, cx)
}

/// Sets the current span's status: ok, or error with why.
pub fn mark_span(error: Option<&str>) {
    crate::telemetry::record_status(&tracing::Span::current(), error);
}
