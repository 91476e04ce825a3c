//! Full sync: every upstream page, fetched `SYNC_CONCURRENCY` at a time into a bounded queue,
//! written in batches; then products the run did not see are archived, but only when every page
//! arrived and the archive stays under the ratio guard.

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
use crate::upstream::{InvalidProduct, Page, UpstreamError};

pub(super) async fn run(engine: &Engine, state: &mut RunState) {
    let settings = &engine.settings;
    let store = &engine.store;
    let mut writer = BatchWriter::new(
        store.clone(),
        settings.writer(),
        WriteOptions {
            seen_by: Some(state.run_id),
            respect_source_order: false,
        },
        state.dry_run,
    );

    // The first page says how large the catalog is, and how many products the upstream really
    // serves per page (an API may cap `limit` below what we ask).
    let first = match engine.upstream.page(0, settings.page_size).await {
        Ok(page) => prepare(page),
        Err(e) => {
            state.fatal(
                ErrorKind::Upstream,
                format!("first page (skip=0) failed: {}", error_chain(&e)),
            );
            return;
        }
    };
    let total = first.total;
    let planned = total.min(settings.safe_max);
    if total > settings.safe_max {
        state.error(
            ErrorKind::SafeMax,
            None,
            None,
            format!(
                "the upstream lists {total} products, more than SYNC_SAFE_MAX={}; only the first {planned} were synced and nothing was archived",
                settings.safe_max
            ),
        );
    }
    state.total = planned;
    let served = first.products.len() as u64;
    let page_size = if served > 0 && served < u64::from(settings.page_size) && served < planned {
        info!(
            asked = settings.page_size,
            served, "upstream serves smaller pages than asked; following it"
        );
        served
    } else {
        u64::from(settings.page_size)
    };
    info!(total, planned, page_size, "catalog size known");

    let mut complete = take_page(
        state,
        &mut writer,
        first,
        0,
        page_size.min(planned),
        planned,
    )
    .await;

    // Pages after the first, fetched by spawned tasks so they progress while a batch is being
    // written; `buffered` keeps at most `concurrency` of them in flight or waiting, in order.
    let upstream = engine.upstream.clone();
    let mut pages = stream::iter((page_size..planned).step_by(page_size as usize))
        .map(|skip| {
            let upstream = upstream.clone();
            let limit = page_size.min(planned - skip);
            // Decoding and hashing happen here, off the writer's path; the task stays in the
            // run's span, so its page spans are the run's children.
            let task = tokio::spawn(
                async move {
                    let page = upstream.page(skip, limit as u32).await.map(prepare);
                    (skip, limit, page)
                }
                .in_current_span(),
            );
            AbortOnDropHandle::new(task)
        })
        .buffered(settings.concurrency);

    loop {
        let next = tokio::select! {
            biased;
            () = state.control.cancel.cancelled() => break,
            next = pages.next() => next,
        };
        let Some(joined) = next else { break };
        let (skip, limit, page) = match joined {
            Ok(fetched) => fetched,
            Err(e) => {
                state.fatal(ErrorKind::Upstream, format!("page fetch task failed: {e}"));
                break;
            }
        };
        match page {
            Ok(page) => {
                complete &= take_page(state, &mut writer, page, skip, limit, planned).await;
            }
            Err(e) => {
                complete = false;
                lose_page(state, skip, limit, &e);
            }
        }
    }
    drop(pages);
    writer.finish(state).await;

    if state.cancelled() {
        info!(run_id = %state.run_id, "run interrupted; nothing is archived");
    } else if complete && !state.had_errors() {
        archive_unseen(engine, state).await;
    } else {
        info!(run_id = %state.run_id, "not every product arrived; nothing is archived");
    }
    // The seen ids only serve this run's archive step; a rerun of the request starts afresh.
    if let Err(e) = store.forget_seen(state.run_id).await {
        tracing::warn!(run_id = %state.run_id, error = %error_chain(&e), "could not clear the run's seen ids");
    }
}

/// Hands a page's products to the writer. Returns false when the page came back shorter than
/// asked before the end of the catalog: the listing moved during the run, so some products may
/// not have been seen and archiving would be unsafe.
async fn take_page(
    state: &mut RunState,
    writer: &mut BatchWriter,
    page: PreparedPage,
    skip: u64,
    limit: u64,
    planned: u64,
) -> bool {
    let received = page.products.len() as u64;
    for item in page.products.into_iter().take(limit as usize) {
        state.counts.fetched += 1;
        match item {
            Ok(product) => writer.push(product, state).await,
            Err(invalid) => {
                state.counts.failed += 1;
                state.error(
                    ErrorKind::InvalidProduct,
                    invalid.product_id,
                    None,
                    invalid.message,
                );
            }
        }
    }
    let expected = limit.min(planned.saturating_sub(skip));
    if received < expected {
        state.error(
            ErrorKind::Upstream,
            None,
            None,
            format!(
                "page skip={skip} returned {received} of {expected} products: the upstream listing changed during the run"
            ),
        );
        return false;
    }
    true
}

/// A page whose products are hashed and have their handles computed.
struct PreparedPage {
    total: u64,
    products: Vec<Result<PreparedProduct, InvalidProduct>>,
}

fn prepare(page: Page) -> PreparedPage {
    PreparedPage {
        total: page.total,
        products: page
            .products
            .into_iter()
            .map(|item| item.map(PreparedProduct::from))
            .collect(),
    }
}

fn lose_page(state: &mut RunState, skip: u64, limit: u64, e: &UpstreamError) {
    state.counts.failed += limit;
    state.error(
        ErrorKind::Upstream,
        None,
        None,
        format!("page skip={skip} limit={limit} failed: {}", error_chain(e)),
    );
}

/// Archives live products the run did not see, unless that would archive more than the
/// configured share of the catalog.
async fn archive_unseen(engine: &Engine, state: &mut RunState) {
    let store = &engine.store;
    let result = async {
        let unseen = store.unseen_products(state.run_id).await?;
        if unseen == 0 {
            return Ok(None);
        }
        let live = store.live_products().await?;
        let ratio = engine.settings.archive_max_ratio;
        if !state.force_archive && unseen as f64 > ratio * live as f64 {
            return Ok(Some(Err((unseen, live, ratio))));
        }
        if state.dry_run {
            return Ok(Some(Ok(unseen)));
        }
        store
            .archive_unseen(state.run_id)
            .await
            .map(|n| Some(Ok(n)))
    }
    .await;
    match result {
        Ok(None) => {}
        Ok(Some(Ok(archived))) => {
            state.counts.archived = archived;
            info!(run_id = %state.run_id, archived, dry_run = state.dry_run, "archived products missing upstream");
        }
        Ok(Some(Err((unseen, live, ratio)))) => state.error(
            ErrorKind::ArchiveGuard,
            None,
            None,
            format!(
                "refused to archive {unseen} of {live} live products: more than SYNC_ARCHIVE_MAX_RATIO={ratio}; run with --force-archive if the upstream really dropped them"
            ),
        ),
        Err(e) => state.error(
            ErrorKind::Store,
            None,
            None,
            format!("archiving failed: {}", error_chain(&e)),
        ),
    }
}
