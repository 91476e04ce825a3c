//! W3C trace context (`traceparent`, `tracestate`) across process boundaries: read from the
//! headers of a consumed NATS message, written into the headers of every message the service
//! publishes and of every upstream request.
//!
//! When no exporter is configured the service records no spans of its own, but a context that
//! arrives is still passed on unchanged, so a caller's trace id reaches the run record, the
//! summary and the summary's headers either way.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header names trace context travels in.
const FIELDS: [&str; 2] = ["traceparent", "tracestate"];

/// The trace context carried by `headers`; empty when there is none or it is malformed.
/// Header names are matched without regard to case, as publishers differ.
pub fn extract(headers: Option<&async_nats::HeaderMap>) -> Context {
    let mut carrier: HashMap<String, String> = HashMap::new();
    for (name, values) in headers.into_iter().flat_map(|h| h.iter()) {
        let name: &str = name.as_ref();
        if let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(name))
            && let Some(value) = values.first()
        {
            carrier.insert((*field).to_owned(), value.as_str().to_owned());
        }
    }
    TraceContextPropagator::new().extract(&carrier)
}

/// Makes `parent` the parent of `span` (which must not have been entered yet) and returns the
/// context to propagate from inside it: the span's own when spans are recorded, else `parent`
/// itself.
pub fn adopt(span: &tracing::Span, parent: Context) -> Context {
    // Fails only when no OpenTelemetry layer is installed or the span is disabled; then there
    // is no span of ours to parent and the caller's context is passed on as it came.
    if span.set_parent(parent.clone()).is_ok() {
        let own = span.context();
        if own.span().span_context().is_valid() {
            return own;
        }
    }
    parent
}

/// The `traceparent`/`tracestate` header pairs for `cx`; none when it holds no valid span.
pub fn trace_headers(cx: &Context) -> Vec<(&'static str, String)> {
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    FIELDS
        .iter()
        .filter_map(|field| carrier.remove(*field).map(|value| (*field, value)))
        .collect()
}

/// Writes the trace context of `cx` into NATS message headers.
pub fn inject(cx: &Context, headers: &mut async_nats::HeaderMap) {
    for (name, value) in trace_headers(cx) {
        headers.insert(name, value);
    }
}

/// The trace id of `cx` as 32 lowercase hex digits, if it holds a valid span.
pub fn trace_id(cx: &Context) -> Option<String> {
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&str, &str)]) -> async_nats::HeaderMap {
        let mut headers = async_nats::HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, *value);
        }
        headers
    }

    #[test]
    fn a_traceparent_header_round_trips() {
        let cx = extract(Some(&headers(&[
            ("traceparent", PARENT),
            ("tracestate", "vendor=1"),
            ("Nats-Msg-Id", "abc"),
        ])));
        assert_eq!(
            trace_id(&cx).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let mut out = async_nats::HeaderMap::new();
        inject(&cx, &mut out);
        assert_eq!(out.get("traceparent").map(|v| v.as_str()), Some(PARENT));
        assert_eq!(out.get("tracestate").map(|v| v.as_str()), Some("vendor=1"));
    }

    #[test]
    fn header_names_match_without_case() {
        let cx = extract(Some(&headers(&[("Traceparent", PARENT)])));
        assert!(trace_id(&cx).is_some());
    }

    #[test]
    fn missing_or_malformed_context_yields_nothing_to_propagate() {
        for cx in [
            extract(None),
            extract(Some(&headers(&[("traceparent", "00-not-a-trace-01")]))),
            extract(Some(&headers(&[(
                "traceparent",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            )]))),
        ] {
            assert_eq!(trace_id(&cx), None);
            assert!(trace_headers(&cx).is_empty());
        }
    }

    #[test]
    fn without_a_span_layer_the_incoming_context_passes_through() {
        let parent = extract(Some(&headers(&[("traceparent", PARENT)])));
        let span = tracing::info_span!("process");
        let cx = adopt(&span, parent);
        assert_eq!(trace_headers(&cx)[0].1, PARENT);
    }
}
