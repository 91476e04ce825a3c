//! Targeted sync: fetch the given product ids (`SYNC_CONCURRENCY` at a time), write them in
//! batches, and archive the ones the upstream answers 404 for.

use std::collections::HashSet;

use super::Engine;
use super::run::RunState;
use super::writer::BatchWriter;
use crate::domain::ErrorKind;
use crate::domain::PreparedProduct;
use crate::domain::Product;
use crate::store::WriteOptions;
use crate::telemetry::error_chain;
use crate::upstream::{InvalidProduct, UpstreamError};

pub(super) async fn run(engine: &Engine, state: &mut RunState, ids: &[String]) {
    let mut unique = HashSet::with_capacity(ids.len());
    let ids: Vec<String> = ids
        .iter()
        .filter(|id| unique.insert(id.as_str()))
        .cloned()
        .collect();
    state.total = ids.len() as u64;
    // The upstream's answer never replaces a product stored with a newer version.
    let mut writer = engine.writer(
        WriteOptions {
            seen_by: None,
            respect_source_order: true,
            strict_restore: false,
            future_tolerance: engine.settings().future_tolerance,
        },
        state.dry_run,
    );
    let gone = fetch_and_write(engine, state, &mut writer, ids).await;
    writer.finish(state).await;
    if state.cancelled() || gone.is_empty() {
        return;
    }
    let archived = engine.store().archive_ids(&gone, state.dry_run).await;
    state.archived(archived, gone.len(), "products gone upstream");
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
    let upstream = engine.upstream().clone();
    let mut fetches = super::fetch::in_order(ids, engine.settings().concurrency, move |id| {
        let upstream = upstream.clone();
        async move {
            let result = upstream.product(&id).await;
            (id, result)
        }
    });
    let cancel = state.control.cancel.clone();
    while let Some(joined) = fetches.next(&cancel).await {
        match joined {
            Ok((id, result)) => take(state, writer, &mut gone, id, result).await,
            Err(e) => {
                state.fatal(
                    ErrorKind::Upstream,
                    format!("product fetch task failed: {e}"),
                );
                break;
            }
        }
    }
    gone
}

/// One product's answer: written, recorded as invalid or failed, or noted as gone.
async fn take(
    state: &mut RunState,
    writer: &mut BatchWriter,
    gone: &mut Vec<String>,
    id: String,
    result: Result<Option<Result<Product, InvalidProduct>>, UpstreamError>,
) {
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
        Ok(None) => {
            state.not_found.note(&id);
            gone.push(id);
        }
        Err(e) => {
            state.counts.fetched += 1;
            state.counts.failed += 1;
            if e.is_retryable() {
                state.retry_later.push(id.clone());
            }
            state.error(ErrorKind::Upstream, Some(id), None, error_chain(&e));
        }
    }
}
