//! The event-driven worker. Two durable pull consumers:
//!
//! - `catalog.sync.requested` (`requests.rs`): runs each request through the engine, publishes
//!   the `catalog.sync.completed` summary and only then acknowledges. One request at a time
//!   across all replicas (`max_ack_pending = 1`).
//! - `product.updated` (`events.rs`): fetches events in batches, applies each batch as one
//!   `incremental` run, publishes its summary, then settles each event.
//!
//! Both settle their messages through one decision (`settle.rs`): acknowledge, deliver again
//! later, hand back, or dead-letter. While the database takes no writes, both stop pulling
//! until it does (`database.rs`). A consumer that goes away under them (deleted by hand, its
//! stream created again) is created again from its definition and pulled again, with backoff,
//! for as long as the worker runs.

mod database;
mod events;
mod requests;
mod settle;
mod spans;

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::{MessagesError, MessagesErrorKind, Stream};
use async_nats::jetstream::{self};
use backon::Retryable as _;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::bus::{self, Topology};
use crate::domain::RunSummary;
use crate::engine::Engine;
use crate::messages::{encode_summary, message_id_headers, summary_message_id};
use crate::telemetry::{TraceContext, error_chain};

pub use events::EVENT_BATCH;
use settle::{Outcome, Settler};
use spans::mark_span;

/// First and longest delay between attempts to pull a consumer again.
const REPULL_MIN_DELAY: Duration = Duration::from_millis(200);
const REPULL_MAX_DELAY: Duration = Duration::from_secs(30);

/// How often the server says a waiting pull is alive. Two missed in a row make the worker ask
/// whether its consumer still exists: one deleted while no pull was waiting goes without a
/// word, and pulls to it would wait forever.
const PULL_HEARTBEAT: Duration = Duration::from_secs(5);

/// A durable consumer of the catalog stream and the messages pulled from it.
struct Pull {
    consumer: PullConsumer,
    messages: Stream,
}

/// The worker's connections and names.
pub struct Worker {
    pub engine: Engine,
    pub client: async_nats::Client,
    pub topology: Topology,
    /// Largest message body accepted; anything larger is dead-lettered.
    pub max_message_bytes: usize,
    /// Held by the consumer that probes a database taking no writes.
    pub database_probe: tokio::sync::Mutex<()>,
}

impl Worker {
    /// Consumes sync requests and product events until `shutdown` is cancelled. A run in
    /// progress at shutdown is interrupted and its request handed back, so another replica
    /// takes it; a batch of events in progress is finished first.
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let js = jetstream::new(self.client.clone());
        tokio::try_join!(
            requests::consume(self, &js, &shutdown),
            events::consume(self, &js, &shutdown),
            self.watch_consumers(&js, &shutdown)
        )?;
        info!("worker stopped");
        Ok(())
    }

    /// Keeps the consumer and dead-letter gauges current, every few seconds, and every half
    /// minute marks the runs of processes that died as abandoned.
    async fn watch_consumers(
        &self,
        js: &jetstream::Context,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        // The last-success gauges start from the record, so a restart does not reset them.
        match self.engine.store().last_successes().await {
            Ok(last) => {
                for success in last {
                    crate::metrics::metrics().succeeded(&success.mode, success.finished_at);
                }
            }
            Err(e) => warn!(error = %error_chain(&e), "could not read the last succeeded runs"),
        }
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut ticks: u64 = 0;
        while !shutdown.is_cancelled() {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let sweep = ticks.is_multiple_of(6);
            ticks += 1;
            // NATS or PostgreSQL may hang a call until its timeout: shutdown does not wait for it.
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.observe(js, sweep) => {}
            }
        }
        Ok(())
    }

    /// One round of watching: the abandoned-run sweep when `sweep`, then the gauges.
    async fn observe(&self, js: &jetstream::Context, sweep: bool) {
        if sweep {
            match self.engine.sweep_abandoned().await {
                Ok(0) => {}
                Ok(marked) => warn!(marked, "runs without a heartbeat marked abandoned"),
                Err(e) => warn!(error = %error_chain(&e), "could not look for abandoned runs"),
            }
        }
        if let Ok(waiting) = crate::bus::dead::waiting(js, &self.topology).await {
            crate::metrics::metrics().dead_letters_waiting(waiting);
        }
        let Ok(stream) = js.get_stream(&self.topology.stream).await else {
            return;
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

    /// Pulls consumer `name`, `batch` messages at a time. A consumer that is gone is created
    /// again from its definition, as at start-up. Each failure is one warning, and the next
    /// attempt follows the service's backoff, without end: `None` only once `shutdown` comes.
    async fn pull(
        &self,
        js: &jetstream::Context,
        name: &str,
        batch: usize,
        shutdown: &CancellationToken,
    ) -> Option<Pull> {
        let attempt = || async {
            let consumer = match self.consumer(js, name).await {
                Ok(consumer) => consumer,
                Err(_) => {
                    crate::bus::setup(js, &self.topology).await?;
                    self.consumer(js, name).await?
                }
            };
            let messages = consumer
                .stream()
                .max_messages_per_batch(batch)
                .heartbeat(PULL_HEARTBEAT)
                .messages()
                .await?;
            anyhow::Ok(Pull { consumer, messages })
        };
        let pulled = attempt
            .retry(crate::retry::backoff(
                REPULL_MIN_DELAY,
                REPULL_MAX_DELAY,
                usize::MAX,
            ))
            .sleep(tokio::time::sleep)
            .notify(|e, delay| {
                warn!(consumer = %name, error = format!("{e:#}"), ?delay, "could not pull the consumer; trying again");
            });
        tokio::select! {
            () = shutdown.cancelled() => None,
            pulled = pulled => pulled.ok(),
        }
    }

    /// Whether `error` from the pull of consumer `name` means it will deliver nothing more:
    /// the consumer was deleted (or nothing answers for it), it cannot be pulled the way it is
    /// asked, or heartbeats stopped and the server says it is gone. Otherwise the pull stream
    /// carries on by itself (a reconnect, a server out of reach for a while).
    async fn pull_ended(&self, js: &jetstream::Context, name: &str, error: &MessagesError) -> bool {
        match error.kind() {
            MessagesErrorKind::ConsumerDeleted
            | MessagesErrorKind::NoResponders
            | MessagesErrorKind::PushBasedConsumer
            | MessagesErrorKind::RequestLimitExceeded => true,
            MessagesErrorKind::MissingHeartbeat => {
                crate::bus::consumer_is_gone(js, &self.topology, name).await
            }
            _ => false,
        }
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

    fn settler<'a>(&'a self, js: &'a jetstream::Context) -> Settler<'a> {
        Settler {
            js,
            dead_subject: &self.topology.dead_subject,
            max_payload: self.client.server_info().max_payload,
        }
    }

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

    /// Publishes a run's summary in the trace of its request and waits for the stream's
    /// acknowledgement: [`Outcome::Done`], or [`Outcome::Unannounced`] if it could not.
    async fn announce(
        &self,
        js: &jetstream::Context,
        summary: &RunSummary,
        cx: &TraceContext,
    ) -> Outcome {
        match publish_summary(js, &self.topology.completed_subject, summary, cx).await {
            Ok(()) => {
                mark_span(None);
                Outcome::Done
            }
            Err(e) => {
                let error = error_chain(&e);
                warn!(%error, run_id = %summary.run_id, "could not publish a run summary; the message will be delivered again");
                mark_span(Some(&error));
                Outcome::Unannounced
            }
        }
    }
}

/// Publishes a run summary with `Nats-Msg-Id: completed-<run_id>` (so a re-published summary is
/// de-duplicated) in the trace `cx`, and waits for the stream's acknowledgement.
async fn publish_summary(
    js: &jetstream::Context,
    subject: &str,
    summary: &RunSummary,
    cx: &TraceContext,
) -> Result<(), bus::BusError> {
    let headers = message_id_headers(&summary_message_id(summary.run_id));
    bus::publish(js, subject, headers, encode_summary(summary), cx).await?;
    Ok(())
}
