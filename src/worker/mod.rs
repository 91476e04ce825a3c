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
use tracing::{info, warn};

use crate::bus::Topology;
use crate::domain::RunSummary;
use crate::engine::{Engine, Progress, RunControl, RunOutcome};
use crate::telemetry::error_chain;

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
        while !shutdown.is_cancelled() {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
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
                    self.handle(js, message, max_deliver, ack_wait, shutdown)
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
    ) {
        let dead_subject = &self.topology.dead_subject;
        if message.payload.len() > self.max_message_bytes {
            let reason = format!(
                "message of {} bytes is over the {}-byte limit (SYNC_MAX_MESSAGE_BYTES)",
                message.payload.len(),
                self.max_message_bytes
            );
            return dead::dead_letter(js, dead_subject, &message, &reason).await;
        }
        let message_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned());
        let request = match decode_request(&message.payload, message_id.as_deref()) {
            Ok(request) => request,
            Err(reason) => return dead::dead_letter(js, dead_subject, &message, &reason).await,
        };
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);

        let (progress_tx, progress_rx) = watch::channel(Progress::default());
        let publisher = tokio::spawn(publish_progress(
            self.client.clone(),
            self.topology.progress_subject.clone(),
            progress_rx,
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
                match publish_summary(js, &self.topology.completed_subject, &summary).await {
                    // Only now is the request done: the data is committed and the summary stored.
                    Ok(()) => {
                        if let Err(e) = message.double_ack().await {
                            warn!(error = %error_chain(e.as_ref()), "could not acknowledge a finished request; it will be redelivered and answered from its record");
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "could not publish the summary; the request will be redelivered");
                        nak(&message, delivered).await;
                    }
                }
            }
            Ok(RunOutcome::Interrupted { run_id }) => {
                info!(%run_id, "run interrupted by shutdown; handing the request back");
                let _ = message.ack_with(AckKind::Nak(None)).await;
            }
            Err(e) if e.is_transient() && delivered < max_deliver => {
                warn!(error = %error_chain(&e), delivered, "sync request failed; retrying later");
                nak(&message, delivered).await;
            }
            Err(e) => {
                let reason = format!("gave up after {delivered} deliveries: {}", error_chain(&e));
                dead::dead_letter(js, dead_subject, &message, &reason).await;
            }
        }
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
/// de-duplicated) and waits for the stream's acknowledgement.
pub async fn publish_summary(
    js: &jetstream::Context,
    subject: &str,
    summary: &RunSummary,
) -> Result<(), String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        "Nats-Msg-Id",
        format!("completed-{}", summary.run_id).as_str(),
    );
    let body = serde_json::to_vec(summary).map_err(|e| e.to_string())?;
    js.publish_with_headers(subject.to_owned(), headers, body.into())
        .await
        .map_err(|e| error_chain(&e))?
        .await
        .map_err(|e| error_chain(&e))?;
    Ok(())
}

/// Publishes `catalog.sync.progress` (core NATS) at most twice a second while a run goes.
async fn publish_progress(
    client: async_nats::Client,
    subject: String,
    mut progress: watch::Receiver<Progress>,
) {
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
            let _ = client.publish(subject.clone(), bytes.into()).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
