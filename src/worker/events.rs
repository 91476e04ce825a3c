//! The `product.updated` side of the worker: batches of events in, one incremental run per
//! batch, acknowledgements after the commit and the summary.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use opentelemetry::trace::TraceContextExt as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, info_span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{Worker, consumer_span, dead, decode_event, mark_span, nak, publish_summary};
use crate::engine::{RunControl, RunOutcome};
use crate::telemetry::{TraceContext, error_chain, record_status};

/// Most events applied as one batch.
pub const EVENT_BATCH: usize = 500;

/// Most links from a batch's span to the spans of its events (the SDK's default limit).
const MAX_LINKS: usize = 128;

/// How long a pull waits for a batch to fill.
const EVENT_WAIT: Duration = Duration::from_millis(500);

impl Worker {
    pub(super) async fn consume_updates(
        &self,
        js: &jetstream::Context,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let consumer = self.consumer(js, &self.topology.updates_consumer).await?;
        let max_deliver = consumer.cached_info().config.max_deliver;
        info!(consumer = %self.topology.updates_consumer, "worker consuming product events");
        while !shutdown.is_cancelled() {
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                batch = consumer.batch().max_messages(EVENT_BATCH).expires(EVENT_WAIT).messages() => batch,
            };
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    warn!(error = %error_chain(&e), "could not pull product events; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut messages = Vec::new();
            while let Some(item) = batch.next().await {
                match item {
                    Ok(message) => messages.push(message),
                    Err(e) => {
                        warn!(error = %error_chain(e.as_ref()), "product event pull interrupted");
                        break;
                    }
                }
            }
            if !messages.is_empty() {
                self.apply_events(js, messages, max_deliver).await;
            }
        }
        Ok(())
    }

    async fn apply_events(
        &self,
        js: &jetstream::Context,
        messages: Vec<jetstream::Message>,
        max_deliver: i64,
    ) {
        let dead_subject = &self.topology.dead_subject;
        let mut events = Vec::with_capacity(messages.len());
        let mut accepted = Vec::with_capacity(messages.len());
        for message in messages {
            // Each event is a span in its publisher's trace; it ends once the event is settled.
            let (span, cx) = consumer_span(&message, &self.topology.updates_consumer);
            let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
            let decoded = match self.oversized(&message) {
                Some(reason) => Err(reason),
                None => decode_event(&message.payload, sequence),
            };
            match decoded {
                Ok(event) => {
                    accepted.push(Received {
                        product_id: event.product_id.clone(),
                        message,
                        span,
                        cx,
                    });
                    events.push(event);
                }
                Err(reason) => {
                    dead::dead_letter(js, dead_subject, &message, &reason, &cx)
                        .instrument(span)
                        .await
                }
            }
        }
        if events.is_empty() {
            return;
        }
        let request_id = batch_request_id(&accepted);
        let (span, cx) = batch_span(&self.topology.updated_subject, &request_id, &accepted);
        self.settle_batch(js, request_id, events, accepted, max_deliver, &cx)
            .instrument(span)
            .await;
    }

    /// Applies the batch, publishes its summary, then acks each event, or naks or dead-letters
    /// those that failed.
    async fn settle_batch(
        &self,
        js: &jetstream::Context,
        request_id: String,
        events: Vec<crate::engine::ProductEvent>,
        accepted: Vec<Received>,
        max_deliver: i64,
        cx: &TraceContext,
    ) {
        let dead_subject = &self.topology.dead_subject;
        let result = self
            .engine
            .apply_events(
                request_id,
                crate::telemetry::trace_id(cx),
                events,
                RunControl::default(),
            )
            .await;
        match result {
            Ok((RunOutcome::Finished(summary) | RunOutcome::AlreadyFinished(summary), retry)) => {
                if let Err(e) =
                    publish_summary(js, &self.topology.completed_subject, &summary, cx).await
                {
                    warn!(error = %e, "could not publish an incremental summary; the events will be redelivered");
                    mark_span(Some(&e));
                    for r in &accepted {
                        record_status(&r.span, Some(&e));
                        nak(&r.message, delivered(&r.message)).await;
                    }
                    return;
                }
                mark_span(None);
                let retry: HashSet<String> = retry.into_iter().collect();
                for r in &accepted {
                    let delivered = delivered(&r.message);
                    if !retry.contains(&r.product_id) {
                        record_status(&r.span, None);
                        if let Err(e) = r.message.ack().await {
                            warn!(error = %error_chain(e.as_ref()), "could not acknowledge a product event");
                        }
                    } else if delivered < max_deliver {
                        record_status(&r.span, Some("the upstream failed; delivered again later"));
                        nak(&r.message, delivered).await;
                    } else {
                        let reason = format!(
                            "gave up after {delivered} deliveries: the upstream kept failing for product {}",
                            r.product_id
                        );
                        dead::dead_letter(js, dead_subject, &r.message, &reason, &r.cx)
                            .instrument(r.span.clone())
                            .await;
                    }
                }
            }
            Ok((RunOutcome::Interrupted { .. }, _)) => {
                mark_span(Some("interrupted by shutdown; handed back"));
                for r in &accepted {
                    let _ = r.message.ack_with(AckKind::Nak(None)).await;
                }
            }
            Err(e) => {
                let error = error_chain(&e);
                warn!(%error, "applying product events failed");
                mark_span(Some(&error));
                for r in &accepted {
                    if e.is_transient() && delivered(&r.message) < max_deliver {
                        record_status(&r.span, Some(&error));
                        nak(&r.message, delivered(&r.message)).await;
                    } else {
                        let reason = format!("gave up: {error}");
                        dead::dead_letter(js, dead_subject, &r.message, &reason, &r.cx)
                            .instrument(r.span.clone())
                            .await;
                    }
                }
            }
        }
    }
}

/// An accepted event's message, with its span (kept open until the event is settled).
struct Received {
    message: jetstream::Message,
    product_id: String,
    span: tracing::Span,
    cx: TraceContext,
}

/// The span of a batch of events. A batch mixes events from many publishers: its parent is the
/// first event's span (so a single event's trace shows everything it caused) and it links to
/// the others.
fn batch_span(
    subject: &str,
    request_id: &str,
    accepted: &[Received],
) -> (tracing::Span, TraceContext) {
    let span = info_span!(
        "process",
        otel.name = format!("process {subject} batch"),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.destination.name = subject,
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.batch.message_count = accepted.len(),
        request_id,
        trace_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    let parent = accepted.first().map(|r| r.cx.clone()).unwrap_or_default();
    for r in accepted.iter().skip(1).take(MAX_LINKS) {
        span.add_link(r.cx.span().span_context().clone());
    }
    let cx = crate::telemetry::adopt(&span, parent);
    if let Some(trace_id) = crate::telemetry::trace_id(&cx) {
        span.record("trace_id", trace_id);
    }
    (span, cx)
}

/// The request id of a batch of events: the stream sequences it covers, the delivery attempt,
/// and the time the stream stored its first event. A redelivered event (after a transient
/// failure, or a crash) gets a new id and is applied again, which is safe because writes are
/// idempotent and never let older data overwrite newer. The store time keeps ids unique when a
/// stream is deleted and created again and its sequence numbers start over.
fn batch_request_id(accepted: &[Received]) -> String {
    let infos: Vec<_> = accepted
        .iter()
        .filter_map(|r| r.message.info().ok())
        .collect();
    let first = infos.iter().min_by_key(|i| i.stream_sequence);
    let last = infos.iter().map(|i| i.stream_sequence).max().unwrap_or(0);
    let attempt = infos.iter().map(|i| i.delivered).max().unwrap_or(1);
    let (first_sequence, stored_ns) = first
        .map(|i| (i.stream_sequence, i.published.unix_timestamp_nanos()))
        .unwrap_or((0, 0));
    format!("events-{first_sequence}-{last}-{attempt}-{stored_ns}")
}

fn delivered(message: &jetstream::Message) -> i64 {
    message.info().map(|i| i.delivered).unwrap_or(1)
}
