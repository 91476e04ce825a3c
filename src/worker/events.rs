//! The `product.updated` side of the worker: batches of events in, one incremental run per
//! batch, acknowledgements after the commit and the summary.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Worker, dead, decode_event, nak, publish_summary};
use crate::engine::{RunControl, RunOutcome};
use crate::telemetry::error_chain;

/// Most events applied as one batch.
pub const EVENT_BATCH: usize = 500;

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
            if message.payload.len() > self.max_message_bytes {
                let reason = format!(
                    "message of {} bytes is over the {}-byte limit (SYNC_MAX_MESSAGE_BYTES)",
                    message.payload.len(),
                    self.max_message_bytes
                );
                dead::dead_letter(js, dead_subject, &message, &reason).await;
                continue;
            }
            let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
            match decode_event(&message.payload, sequence) {
                Ok(event) => {
                    accepted.push((message, event.product_id.clone()));
                    events.push(event);
                }
                Err(reason) => dead::dead_letter(js, dead_subject, &message, &reason).await,
            }
        }
        if events.is_empty() {
            return;
        }
        let first = events.iter().map(|e| e.sequence).min().unwrap_or(0);
        let last = events.iter().map(|e| e.sequence).max().unwrap_or(0);
        let attempt = accepted
            .iter()
            .map(|(m, _)| delivered(m))
            .max()
            .unwrap_or(1);
        // Named by the stream sequences it covers and the delivery attempt: a redelivered event
        // (after a transient failure, or a crash) is applied again, which is safe because
        // writes are idempotent and never let older data overwrite newer.
        let request_id = format!("events-{first}-{last}-{attempt}");
        let result = self
            .engine
            .apply_events(request_id, events, RunControl::default())
            .await;
        match result {
            Ok((RunOutcome::Finished(summary) | RunOutcome::AlreadyFinished(summary), retry)) => {
                if let Err(e) =
                    publish_summary(js, &self.topology.completed_subject, &summary).await
                {
                    warn!(error = %e, "could not publish an incremental summary; the events will be redelivered");
                    for (message, _) in &accepted {
                        nak(message, delivered(message)).await;
                    }
                    return;
                }
                let retry: HashSet<String> = retry.into_iter().collect();
                for (message, product_id) in &accepted {
                    if !retry.contains(product_id) {
                        if let Err(e) = message.ack().await {
                            warn!(error = %error_chain(e.as_ref()), "could not acknowledge a product event");
                        }
                    } else if delivered(message) < max_deliver {
                        nak(message, delivered(message)).await;
                    } else {
                        let reason = format!(
                            "gave up after {} deliveries: the upstream kept failing for product {product_id}",
                            delivered(message)
                        );
                        dead::dead_letter(js, dead_subject, message, &reason).await;
                    }
                }
            }
            Ok((RunOutcome::Interrupted { .. }, _)) => {
                for (message, _) in &accepted {
                    let _ = message.ack_with(AckKind::Nak(None)).await;
                }
            }
            Err(e) => {
                warn!(error = %error_chain(&e), "applying product events failed");
                for (message, _) in &accepted {
                    if e.is_transient() && delivered(message) < max_deliver {
                        nak(message, delivered(message)).await;
                    } else {
                        let reason = format!("gave up: {}", error_chain(&e));
                        dead::dead_letter(js, dead_subject, message, &reason).await;
                    }
                }
            }
        }
    }
}

fn delivered(message: &jetstream::Message) -> i64 {
    message.info().map(|i| i.delivered).unwrap_or(1)
}
