//! Targeted sync: fetch the given product ids (`SYNC_CONCURRENCY` at a time), write them in
//! batches, and archive the ones the upstream answers 404 for.

use std::collections::HashSet;

use futures_util::StreamExt;
use futures_util::stream;
use tokio_util::task::AbortOnDropHandle;
use tracing::{Instrument as _, info};

use super::Engine;
use super::run::RunState;
use super::writer::BatchWriter;
use crate::domain::ErrorKind;
use crate::store::{PreparedProduct, WriteOptions};
use crate::telemetry::error_chain;

pub(super) async fn run(engine: &Engine, state: &mut RunState, ids: &[String]) {
    let mut unique = HashSet::with_capacity(ids.len());
    let ids: Vec<String> = ids
        .iter()
        .filter(|id| unique.insert(id.as_str()))
        .cloned()
        .collect();
    state.total = ids.len() as u64;
    let mut writer = BatchWriter::new(
        engine.store.clone(),
        engine.settings.writer(),
        // The upstream's answer never replaces a product stored with a newer version.
        WriteOptions {
            seen_by: None,
            respect_source_order: true,
            strict_restore: false,
        },
        state.dry_run,
    );
    let gone = fetch_and_write(engine, state, &mut writer, ids).await;
    writer.finish(state).await;
    if state.cancelled() || gone.is_empty() {
        return;
    }
    match engine.store.archive_ids(&gone, state.dry_run).await {
        Ok(archived) => {
            state.counts.archived += archived;
            info!(run_id = %state.run_id, not_found = gone.len(), archived, "products gone upstream archived");
        }
        Err(e) => state.error(
            ErrorKind::Store,
            None,
            None,
            format!(
                "archiving {} products gone upstream failed: {}",
                gone.len(),
                error_chain(&e)
            ),
        ),
    }
}

/// Fetches each id (`SYNC_CONCURRENCY` at a time) and hands the products to `writer`. Returns
/// the ids the upstream answered 404 for. An id whose fetch failed for a transient reason is
/// noted in `state.retry_later`.
pub(super) async fn fetch_and_write(
    engine: &Engine,
    state: &mut RunState,
    writer: &mut BatchWriter,
    ids: Vec<String>,
) -> Vec<String> {
    let mut gone = Vec::new();
    let upstream = engine.upstream.clone();
    let mut fetches = stream::iter(ids)
        .map(|id| {
            let upstream = upstream.clone();
            AbortOnDropHandle::new(tokio::spawn(
                async move {
                    let result = upstream.product(&id).await;
                    (id, result)
                }
                .in_current_span(),
            ))
        })
        .buffered(engine.settings.concurrency);
    loop {
        let next = tokio::select! {
            biased;
            () = state.control.cancel.cancelled() => break,
            next = fetches.next() => next,
        };
        let Some(joined) = next else { break };
        let (id, result) = match joined {
            Ok(fetched) => fetched,
            Err(e) => {
                state.fatal(
                    ErrorKind::Upstream,
                    format!("product fetch task failed: {e}"),
                );
                break;
            }
        };
        match result {
            Ok(Some(Ok(product))) => {
                state.counts.fetched += 1;
                writer.push(PreparedProduct::from(product), state).await;
            }
            Ok(Some(Err(invalid))) => {
                state.counts.fetched += 1;
                state.counts.failed += 1;
                state.error(ErrorKind::InvalidProduct, Some(id), None, invalid.message);
            }
            Ok(None) => gone.push(id),
            Err(e) => {
                state.counts.failed += 1;
                if e.is_retryable() {
                    state.retry_later.push(id.clone());
                }
                state.error(ErrorKind::Upstream, Some(id), None, error_chain(&e));
            }
        }
    }
    gone
}
