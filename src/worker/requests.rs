//! The `catalog.sync.requested` consumer: one request at a time, run through the engine, its
//! summary published, and only then acknowledged.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};

use super::Worker;
use super::settle::{Outcome, Settle, decide, delivered};
use super::spans::{consumer_span, mark_span};
use crate::engine::{Progress, RunControl, RunOutcome, RunRequest};
use crate::messages::{SyncProgress, SyncRequested, message_id};
use crate::telemetry::{TraceContext, error_chain};

/// Consumes sync requests until `shutdown` is cancelled.
pub(super) async fn consume(
    worker: &Worker,
    js: &jetstream::Context,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let name = &worker.topology.requests_consumer;
    let Some(mut pull) = worker.pull(js, name, 1, shutdown).await else {
        return Ok(());
    };
    info!(consumer = %name, "worker consuming sync requests");
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            next = pull.messages.next() => next,
        };
        let ended = match next {
            Some(Ok(message)) => {
                let database_down = take(worker, js, &pull.consumer, name, message, shutdown).await;
                if database_down {
                    // Pull nothing until the database takes writes: a request pulled now
                    // would only spend one of its deliveries.
                    drop(pull);
                    worker.wait_for_database(shutdown).await;
                    match worker.pull(js, name, 1, shutdown).await {
                        Some(again) => pull = again,
                        None => break,
                    }
                }
                continue;
            }
            Some(Err(e)) => {
                if !worker.pull_ended(js, name, &e).await {
                    warn!(error = %error_chain(&e), "sync request consumer hiccup");
                    continue;
                }
                error_chain(&e)
            }
            None => "the pull stream ended".to_owned(),
        };
        warn!(consumer = %name, error = ended, "sync requests stopped coming; pulling the consumer again");
        match worker.pull(js, name, 1, shutdown).await {
            Some(again) => pull = again,
            None => break,
        }
    }
    Ok(())
}

/// Runs one request of `consumer` (named `name`) and settles its message. True when the run
/// failed because the database takes no writes.
async fn take(
    worker: &Worker,
    js: &jetstream::Context,
    consumer: &PullConsumer,
    name: &str,
    message: jetstream::Message,
    shutdown: &CancellationToken,
) -> bool {
    // The consumer's own settings: it may have been created again since the worker started.
    let config = &consumer.cached_info().config;
    let (span, cx) = consumer_span(&message, name);
    let delivered = delivered(&message);
    let (outcome, database_down) = handle(worker, js, &message, config.ack_wait, shutdown, &cx)
        .instrument(span.clone())
        .await;
    let settle = decide(outcome, delivered, config.max_deliver);
    if let Settle::Nak(delay) = &settle {
        warn!(parent: &span, delivered, ?delay, "the request will be delivered again");
    }
    worker
        .settler(js)
        .settle(&message, settle, &cx, true)
        .instrument(span)
        .await;
    database_down
}

/// Runs one request and says how its work ended, and whether it ended because the database
/// takes no writes.
async fn handle(
    worker: &Worker,
    js: &jetstream::Context,
    message: &jetstream::Message,
    ack_wait: Duration,
    shutdown: &CancellationToken,
    cx: &TraceContext,
) -> (Outcome, bool) {
    if let Some(reason) = worker.oversized(message) {
        return (Outcome::Refused(reason), false);
    }
    let decoded = SyncRequested::decode(&message.payload, message_id(message.headers.as_ref()));
    let mut request = match decoded {
        Ok(decoded) => RunRequest::from_message(decoded),
        Err(reason) => return (Outcome::Refused(reason.0), false),
    };
    tracing::Span::current().record("request_id", request.request_id.as_str());
    request.trace_id = crate::telemetry::trace_id(cx);

    let (progress_tx, progress_rx) = watch::channel(Progress::default());
    let publisher = tokio::spawn(publish_progress(
        worker.client.clone(),
        worker.topology.progress_subject.clone(),
        request.request_id.clone(),
        progress_rx,
        cx.clone(),
    ));
    let control = RunControl {
        cancel: shutdown.child_token(),
        progress: Some(progress_tx),
    };
    // Tell JetStream the request is still being worked on, well within `ack_wait`.
    let run = worker.engine.run(&request, control);
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
            (worker.announce(js, &summary, cx).await, false)
        }
        Ok(RunOutcome::Interrupted { run_id }) => {
            info!(%run_id, "run interrupted by shutdown; handing the request back");
            mark_span(Some("interrupted by shutdown; handed back"));
            (Outcome::Interrupted, false)
        }
        Err(e) => {
            let error = error_chain(&e);
            warn!(%error, "sync request failed");
            mark_span(Some(&error));
            let outcome = Outcome::Failed {
                error,
                retryable: e.is_retryable(),
            };
            (outcome, e.is_database_unavailable())
        }
    }
}

/// Publishes `catalog.sync.progress` (core NATS) at most twice a second while a run goes.
async fn publish_progress(
    client: async_nats::Client,
    subject: String,
    request_id: String,
    mut progress: watch::Receiver<Progress>,
    cx: TraceContext,
) {
    let mut headers = HeaderMap::new();
    crate::telemetry::inject(&cx, &mut headers);
    let started = tokio::time::Instant::now();
    while progress.changed().await.is_ok() {
        let now = *progress.borrow_and_update();
        let elapsed = started.elapsed().as_millis() as u64;
        let message = SyncProgress {
            run_id: now.run_id,
            request_id: Some(request_id.clone()),
            processed: now.processed,
            total: now.total,
            eta_ms: (now.processed > 0 && now.total > now.processed)
                .then(|| elapsed * (now.total - now.processed) / now.processed),
        };
        let _ = client
            .publish_with_headers(subject.clone(), headers.clone(), message.encode().into())
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
