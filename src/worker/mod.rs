//! The event-driven worker. Two durable pull consumers:
//!
//! - `catalog.sync.requested`: runs each request through the engine, publishes the
//!   `catalog.sync.completed` summary and only then acknowledges. One request at a time across
//!   all replicas (`max_ack_pending = 1`).
//! - `product.updated`: fetches events in batches, applies each batch as one `incremental` run,
//!   publishes its summary, then acknowledges the batch.

mod dead;
mod events;
mod wire;

use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, info_span, warn};

use crate::bus::{self, Topology};
use crate::domain::RunSummary;
use crate::engine::{Engine, Progress, RunControl, RunOutcome};
use crate::telemetry::{TraceContext, error_chain};

pub(crate) use wire::{decode_event, decode_request};

/// The worker's connections and names.
pub struct Worker {
    pub engine: Engine,
    pub client: async_nats::Client,
    pub topology: Topology,
    /// Largest message body accepted; anything larger is dead-lettered.
    pub max_message_bytes: usize,
}

impl Worker {
    /// Consumes sync requests and product events until `shutdown` is cancelled. A run in
    /// progress at shutdown is interrupted and its request negatively acknowledged, so another
    /// replica takes it; a batch of events in progress is finished first.
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let js = jetstream::new(self.client.clone());
        tokio::try_join!(
            self.consume_requests(&js, &shutdown),
            self.consume_updates(&js, &shutdown),
            self.watch_consumers(&js, &shutdown)
        )?;
        info!("worker stopped");
        Ok(())
    }

    /// Keeps the consumer gauges (pending, awaiting ack) current, every few seconds.
    async fn watch_consumers(
        &self,
        js: &jetstream::Context,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut ticks: u64 = 0;
        while !shutdown.is_cancelled() {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            // Every half minute, runs of processes that died are marked abandoned.
            if ticks.is_multiple_of(6) {
                match self.engine.sweep_abandoned().await {
                    Ok(0) => {}
                    Ok(marked) => warn!(marked, "runs without a heartbeat marked abandoned"),
                    Err(e) => warn!(error = %error_chain(&e), "could not look for abandoned runs"),
                }
            }
            ticks += 1;
            let Ok(stream) = js.get_stream(&self.topology.stream).await else {
                continue;
            };
            for name in [
                &self.topology.requests_consumer,
                &self.topology.updates_consumer,
            ] {
                if let Ok(info) = stream.consumer_info(name).await {
                    crate::metrics::metrics().consumer_state(
                        name,
                        info.num_pending,
                        info.num_ack_pending as u64,
                    );
                }
            }
        }
        Ok(())
    }

    /// One of the worker's durable pull consumers on the catalog stream.
    async fn consumer(&self, js: &jetstream::Context, name: &str) -> anyhow::Result<PullConsumer> {
        js.get_stream(&self.topology.stream)
            .await
            .with_context(|| format!("stream {} (run `catalog-sync setup`)", self.topology.stream))?
            .get_consumer(name)
            .await
            .map_err(|e| anyhow::anyhow!("consumer {name}: {e} (run `catalog-sync setup`)"))
    }

    async fn consume_requests(
        &self,
        js: &jetstream::Context,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let consumer = self.consumer(js, &self.topology.requests_consumer).await?;
        let max_deliver = consumer.cached_info().config.max_deliver;
        let ack_wait = consumer.cached_info().config.ack_wait;
        info!(consumer = %self.topology.requests_consumer, "worker consuming sync requests");
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(1)
            .messages()
            .await
            .context("pulling sync requests")?;
        loop {
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    let (span, cx) = consumer_span(&message, &self.topology.requests_consumer);
                    self.handle(js, message, max_deliver, ack_wait, shutdown, &cx)
                        .instrument(span)
                        .await;
                }
                // A missed heartbeat or a reconnect: the pull stream carries on by itself.
                Some(Err(e)) => warn!(error = %error_chain(&e), "sync request consumer hiccup"),
                None => {
                    warn!("sync request stream ended; pulling again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    messages = consumer
                        .stream()
                        .max_messages_per_batch(1)
                        .messages()
                        .await?;
                }
            }
        }
        info!("worker stopped");
        Ok(())
    }

    async fn handle(
        &self,
        js: &jetstream::Context,
        message: jetstream::Message,
        max_deliver: i64,
        ack_wait: Duration,
        shutdown: &CancellationToken,
        cx: &TraceContext,
    ) {
        let dead_subject = &self.topology.dead_subject;
        if let Some(reason) = self.oversized(&message) {
            return dead::dead_letter(js, dead_subject, &message, &reason, cx).await;
        }
        let message_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned());
        let mut request = match decode_request(&message.payload, message_id.as_deref()) {
            Ok(request) => request,
            Err(reason) => return dead::dead_letter(js, dead_subject, &message, &reason, cx).await,
        };
        tracing::Span::current().record("request_id", request.request_id.as_str());
        request.trace_id = crate::telemetry::trace_id(cx);
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);

        let (progress_tx, progress_rx) = watch::channel(Progress::default());
        let publisher = tokio::spawn(publish_progress(
            self.client.clone(),
            self.topology.progress_subject.clone(),
            progress_rx,
            cx.clone(),
        ));
        let control = RunControl {
            cancel: shutdown.child_token(),
            progress: Some(progress_tx),
        };
        // Tell JetStream the request is still being worked on, well within `ack_wait`.
        let run = self.engine.run(&request, control);
        tokio::pin!(run);
        let mut keepalive = tokio::time::interval((ack_wait / 3).max(Duration::from_millis(200)));
        keepalive.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = keepalive.tick() => {
                    if let Err(e) = message.ack_with(AckKind::Progress).await {
                        warn!(error = %error_chain(e.as_ref()), "could not extend the request's ack deadline");
                    }
                }
            }
        };
        publisher.abort();

        match outcome {
            Ok(RunOutcome::Finished(summary) | RunOutcome::AlreadyFinished(summary)) => {
                match publish_summary(js, &self.topology.completed_subject, &summary, cx).await {
                    // Only now is the request done: the data is committed and the summary stored.
                    Ok(()) => {
                        mark_span(None);
                        if let Err(e) = message.double_ack().await {
                            warn!(error = %error_chain(e.as_ref()), "could not acknowledge a finished request; it will be redelivered and answered from its record");
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "could not publish the summary; the request will be redelivered");
                        mark_span(Some(&e));
                        nak(&message, delivered).await;
                    }
                }
            }
            Ok(RunOutcome::Interrupted { run_id }) => {
                info!(%run_id, "run interrupted by shutdown; handing the request back");
                mark_span(Some("interrupted by shutdown; handed back"));
                let _ = message.ack_with(AckKind::Nak(None)).await;
            }
            Err(e) if e.is_transient() && delivered < max_deliver => {
                warn!(error = %error_chain(&e), delivered, "sync request failed; retrying later");
                mark_span(Some(&error_chain(&e)));
                nak(&message, delivered).await;
            }
            Err(e) => {
                let reason = format!("gave up after {delivered} deliveries: {}", error_chain(&e));
                dead::dead_letter(js, dead_subject, &message, &reason, cx).await;
            }
        }
    }
}

impl Worker {
    /// Why a message is too large to handle, if it is.
    fn oversized(&self, message: &jetstream::Message) -> Option<String> {
        (message.payload.len() > self.max_message_bytes).then(|| {
            format!(
                "message of {} bytes is over the {}-byte limit (SYNC_MAX_MESSAGE_BYTES)",
                message.payload.len(),
                self.max_message_bytes
            )
        })
    }
}

/// Negative acknowledgement with a delay that grows with the delivery count: 2 s, 4 s, 8 s …
/// up to a minute.
async fn nak(message: &jetstream::Message, delivered: i64) {
    let delay = Duration::from_secs(2u64.saturating_pow(delivered.clamp(1, 6) as u32))
        .min(Duration::from_secs(60));
    if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
        warn!(error = %error_chain(e.as_ref()), "could not nak a request; it will come back after ack_wait");
    }
}

/// Publishes a run summary with `Nats-Msg-Id: completed-<run_id>` (so a re-published summary is
/// de-duplicated) in the trace of the request, and waits for the stream's acknowledgement.
pub async fn publish_summary(
    js: &jetstream::Context,
    subject: &str,
    summary: &RunSummary,
    cx: &TraceContext,
) -> Result<(), String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        "Nats-Msg-Id",
        format!("completed-{}", summary.run_id).as_str(),
    );
    let body = serde_json::to_vec(summary).map_err(|e| e.to_string())?;
    bus::publish(js, subject, headers, body, cx)
        .await
        .map_err(|e| error_chain(&e))?;
    Ok(())
}

/// The consumer span of one message: its parent is the trace context the publisher put in the
/// headers. Returns the span (not yet entered) and the context to propagate from inside it.
fn consumer_span(message: &jetstream::Message, consumer: &str) -> (tracing::Span, TraceContext) {
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

/// Sets the current span's status: ok, or error with why.
fn mark_span(error: Option<&str>) {
    crate::telemetry::record_status(&tracing::Span::current(), error);
}

/// Publishes `catalog.sync.progress` (core NATS) at most twice a second while a run goes.
async fn publish_progress(
    client: async_nats::Client,
    subject: String,
    mut progress: watch::Receiver<Progress>,
    cx: TraceContext,
) {
    let mut headers = HeaderMap::new();
    crate::telemetry::inject(&cx, &mut headers);
    let started = tokio::time::Instant::now();
    while progress.changed().await.is_ok() {
        let now = *progress.borrow_and_update();
        let elapsed = started.elapsed().as_millis() as u64;
        let eta_ms = (now.processed > 0 && now.total > now.processed)
            .then(|| elapsed * (now.total - now.processed) / now.processed);
        let body = serde_json::json!({
            "run_id": now.run_id,
            "processed": now.processed,
            "total": now.total,
            "eta_ms": eta_ms,
        });
        if let Ok(bytes) = serde_json::to_vec(&body) {
            let _ = client
                .publish_with_headers(subject.clone(), headers.clone(), bytes.into())
                .await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
