//! The `product.updated` consumer: batches of events in, one incremental run per batch, each
//! event settled after the commit and the summary.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::pull::Stream;
use futures_util::{FutureExt as _, StreamExt};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};

use super::Worker;
use super::settle::{Outcome, decide, delivered};
use super::spans::{batch_span, consumer_span, mark_span};
use crate::engine::{ProductEvent, RunControl, RunOutcome};
use crate::messages::ProductUpdated;
use crate::telemetry::{TraceContext, error_chain, record_status};

/// Most events applied as one batch, and most held by the client at once.
pub const EVENT_BATCH: usize = 500;

/// How long a batch under load waits for more events to join it.
const EVENT_LINGER: Duration = Duration::from_millis(20);

/// Consumes product events until `shutdown` is cancelled; a batch in progress is finished.
///
/// Events are pulled continuously and applied as soon as one is there, together with whatever
/// else has already arrived: at a low rate an event waits for nobody, at a high rate the
/// events that arrive while a batch is written make the next batch. Nothing waits for a batch
/// to fill.
pub(super) async fn consume(
    worker: &Worker,
    js: &jetstream::Context,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let name = &worker.topology.updates_consumer;
    let Some(mut pull) = worker.pull(js, name, EVENT_BATCH, shutdown).await else {
        return Ok(());
    };
    info!(consumer = %name, "worker consuming product events");
    loop {
        let first = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            next = pull.messages.next() => next,
        };
        let ended = match first {
            Some(Ok(message)) => {
                let (messages, ended) = gather(worker, js, name, &mut pull.messages, message).await;
                // The consumer's own settings: it may have been created again meanwhile.
                let max_deliver = pull.consumer.cached_info().config.max_deliver;
                let database_down = apply(worker, js, messages, max_deliver).await;
                if database_down {
                    // Pull nothing until the database takes writes: what was already pulled
                    // goes back for later, and no delivery is spent while nothing can be kept.
                    while let Some(Some(Ok(message))) = pull.messages.next().now_or_never() {
                        let _ = message
                            .ack_with(jetstream::AckKind::Nak(Some(Duration::from_secs(5))))
                            .await;
                    }
                    drop(pull);
                    worker.wait_for_database(shutdown).await;
                    match worker.pull(js, name, EVENT_BATCH, shutdown).await {
                        Some(again) => pull = again,
                        None => return Ok(()),
                    }
                    continue;
                }
                match ended {
                    Some(ended) => ended,
                    None => continue,
                }
            }
            Some(Err(e)) => {
                if !worker.pull_ended(js, name, &e).await {
                    warn!(error = %error_chain(&e), "product event consumer hiccup");
                    continue;
                }
                error_chain(&e)
            }
            None => "the pull stream ended".to_owned(),
        };
        warn!(consumer = %name, error = ended, "product events stopped coming; pulling the consumer again");
        match worker.pull(js, name, EVENT_BATCH, shutdown).await {
            Some(again) => pull = again,
            None => break,
        }
    }
    // Events already pulled but not taken go back at once rather than after `ack_wait`.
    while let Some(Some(Ok(message))) = pull.messages.next().now_or_never() {
        let _ = message.ack_with(jetstream::AckKind::Nak(None)).await;
    }
    Ok(())
}

/// The batch that starts with `first`: what has already arrived joins it. When more than one
/// had (events come in faster than batches are applied), the batch also takes what arrives
/// within a short linger: fewer, larger batches keep up with a high rate, and a lone event
/// never waits. Besides the batch, why the pull of consumer `name` ended, if it did.
async fn gather(
    worker: &Worker,
    js: &jetstream::Context,
    name: &str,
    messages: &mut Stream,
    first: jetstream::Message,
) -> (Vec<jetstream::Message>, Option<String>) {
    let mut batch = vec![first];
    let mut linger = None;
    while batch.len() < EVENT_BATCH {
        let next = match linger {
            None => messages.next().now_or_never(),
            Some(until) => tokio::time::timeout_at(until, messages.next()).await.ok(),
        };
        match next {
            Some(Some(Ok(message))) => batch.push(message),
            Some(Some(Err(e))) => {
                if worker.pull_ended(js, name, &e).await {
                    return (batch, Some(error_chain(&e)));
                }
                warn!(error = %error_chain(&e), "product event consumer hiccup");
                break;
            }
            Some(None) => break,
            None if linger.is_none() && batch.len() > 1 => {
                linger = Some(tokio::time::Instant::now() + EVENT_LINGER);
            }
            None => break,
        }
    }
    (batch, None)
}

/// An accepted event's message, with its span (kept open until the event is settled).
struct Received {
    message: jetstream::Message,
    product_id: String,
    span: tracing::Span,
    cx: TraceContext,
}

/// Decodes a batch (refusing what does not decode), applies the rest as one run, and settles
/// every event. True when the run failed because the database takes no writes.
async fn apply(
    worker: &Worker,
    js: &jetstream::Context,
    messages: Vec<jetstream::Message>,
    max_deliver: i64,
) -> bool {
    let settler = worker.settler(js);
    let mut events = Vec::with_capacity(messages.len());
    let mut accepted = Vec::with_capacity(messages.len());
    for message in messages {
        // Each event is a span in its publisher's trace; it ends once the event is settled.
        let (span, cx) = consumer_span(&message, &worker.topology.updates_consumer);
        let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
        let decoded = match worker.oversized(&message) {
            Some(reason) => Err(reason),
            None => ProductUpdated::decode(&message.payload)
                .and_then(|m| worker.engine.product_event(m, sequence))
                .map_err(|e| e.0),
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
                let settle = decide(Outcome::Refused(reason), delivered(&message), max_deliver);
                settler
                    .settle(&message, settle, &cx, false)
                    .instrument(span)
                    .await
            }
        }
    }
    if events.is_empty() {
        return false;
    }
    let request_id = batch_request_id(&accepted);
    let contexts: Vec<TraceContext> = accepted.iter().map(|r| r.cx.clone()).collect();
    let (span, cx) = batch_span(&worker.topology.updated_subject, &request_id, &contexts);
    let (outcomes, database_down) = run_batch(worker, js, request_id, events, &accepted, &cx)
        .instrument(span.clone())
        .await;
    for (received, outcome) in accepted.iter().zip(outcomes) {
        let settle = decide(outcome, delivered(&received.message), max_deliver);
        settler
            .settle(&received.message, settle, &received.cx, false)
            .instrument(received.span.clone())
            .await;
    }
    database_down
}

/// Applies the batch and publishes its summary; returns how each accepted event's work ended,
/// and whether it ended because the database takes no writes.
async fn run_batch(
    worker: &Worker,
    js: &jetstream::Context,
    request_id: String,
    events: Vec<ProductEvent>,
    accepted: &[Received],
    cx: &TraceContext,
) -> (Vec<Outcome>, bool) {
    let result = worker
        .engine
        .apply_events(
            request_id,
            crate::telemetry::trace_id(cx),
            events,
            RunControl::default(),
        )
        .await;
    let all = |outcome: Outcome| vec![outcome; accepted.len()];
    match result {
        Ok((RunOutcome::Finished(summary) | RunOutcome::AlreadyFinished(summary), retry)) => {
            let announced = worker.announce(js, &summary, cx).await;
            if announced != Outcome::Done {
                return (all(announced), false);
            }
            // Events whose product the upstream failed to serve are tried again later.
            let retry: HashSet<String> = retry.into_iter().collect();
            let outcomes = accepted
                .iter()
                .map(|r| {
                    if retry.contains(&r.product_id) {
                        record_status(&r.span, Some("the upstream failed; delivered again later"));
                        Outcome::Failed {
                            error: format!(
                                "the upstream kept failing for product {}",
                                r.product_id
                            ),
                            retryable: true,
                        }
                    } else {
                        record_status(&r.span, None);
                        Outcome::Done
                    }
                })
                .collect();
            (outcomes, false)
        }
        Ok((RunOutcome::Interrupted { .. }, _)) => {
            mark_span(Some("interrupted by shutdown; handed back"));
            (all(Outcome::Interrupted), false)
        }
        Err(e) => {
            let error = error_chain(&e);
            warn!(%error, "applying product events failed");
            mark_span(Some(&error));
            for r in accepted {
                record_status(&r.span, Some(&error));
            }
            let outcomes = all(Outcome::Failed {
                error,
                retryable: e.is_retryable(),
            });
            (outcomes, e.is_database_unavailable())
        }
    }
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
        .map(|i| {
            (
                i.stream_sequence,
                i.published.timestamp_nanos_opt().unwrap_or(0),
            )
        })
        .unwrap_or((0, 0));
    format!("events-{first_sequence}-{last}-{attempt}-{stored_ns}")
}
