//! The archive step of a full sync: products the listing did not serve are only candidates.
//! Each is confirmed gone before it is archived, by whichever costs fewer requests:
//!
//! - **item checks**: `GET {url}/{id}` for each candidate, `SYNC_CONCURRENCY` at a time; a 404
//!   confirms it gone, a product in the answer is live and is written like a listed one;
//! - **an id-only listing**: a second pass over the listing with `select=id`, its pages
//!   overlapping like the main pass. If that pass did not move, a product live throughout it was
//!   listed, so a candidate it did not list either is gone. If it moved, the candidates it left
//!   are checked by item.
//!
//! A listing that moved during the main pass is always confirmed by item. The ratio guard
//! (`SYNC_ARCHIVE_MAX_RATIO`) applies to the confirmed set.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{info, warn};

use super::Engine;
use super::listing::{Continuity, Plan};
use super::run::RunState;
use super::writer::BatchWriter;
use crate::domain::{ArchiveMethod, ArchiveReport, ErrorKind};
use crate::store::{Candidates, SeenKind, StoreError};
use crate::telemetry::error_chain;
use crate::upstream::IdPage;

/// Candidates read from the database at a time during item checks.
const CHECK_CHUNK: u32 = 500;

/// Confirms and archives the live products the listing (of `total` products, in pages of
/// `page_size`) did not serve; `counted` is how many there are (counted by the caller).
pub(super) async fn archive_missing(
    engine: &Engine,
    state: &mut RunState,
    writer: &mut BatchWriter,
    (page_size, total): (u64, u64),
    listing_moved: bool,
    counted: Result<u64, StoreError>,
) {
    let seen_runs = state.seen_runs.clone();
    let mut candidates = Candidates {
        seen_runs: &seen_runs,
        run_id: state.run_id,
        after_id_listing: false,
    };
    let mut report = ArchiveReport {
        candidates: 0,
        confirmed: 0,
        method: ArchiveMethod::None,
        item_checks: 0,
        id_listing_pages: 0,
    };
    let result: Result<(), StoreError> = async {
        report.candidates = counted?;
        if report.candidates == 0 {
            return Ok(());
        }
        let id_listing_cost = Plan::id_listing_requests(page_size, total);
        let by_items = if !listing_moved
            && engine.upstream().can_list_ids()
            && id_listing_cost < report.candidates
        {
            let (consistent, pages) = id_listing(engine, state, page_size).await?;
            report.id_listing_pages = pages;
            candidates.after_id_listing = true;
            if consistent {
                report.method = ArchiveMethod::IdListing;
                report.confirmed = engine.store().count_candidates(&candidates).await?;
                false
            } else {
                report.method = ArchiveMethod::IdListingThenItemChecks;
                true
            }
        } else {
            report.method = ArchiveMethod::ItemChecks;
            true
        };
        if by_items {
            report.item_checks = item_checks(engine, state, writer, &candidates).await?;
            writer.finish(state).await;
            report.confirmed = engine.store().count_gone(state.run_id).await?;
        }
        if state.cancelled() || report.confirmed == 0 {
            return Ok(());
        }
        let live = engine.store().live_products().await?;
        let ratio = engine.settings().archive_max_ratio;
        if !state.force_archive && report.confirmed as f64 > ratio * live as f64 {
            state.error(
                ErrorKind::ArchiveGuard,
                None,
                None,
                format!(
                    "refused to archive {} of {live} live products, confirmed gone upstream: more than SYNC_ARCHIVE_MAX_RATIO={ratio}; run with --force-archive if the upstream really dropped them",
                    report.confirmed
                ),
            );
            return Ok(());
        }
        state.counts.archived = if state.dry_run {
            report.confirmed
        } else if by_items {
            engine.store().archive_gone(state.run_id).await?
        } else {
            engine.store().archive_candidates(&candidates).await?
        };
        info!(
            run_id = %state.run_id,
            candidates = report.candidates,
            archived = state.counts.archived,
            method = ?report.method,
            dry_run = state.dry_run,
            "archived products confirmed gone upstream"
        );
        Ok(())
    }
    .await;
    if let Err(e) = result {
        state.error(
            ErrorKind::Store,
            None,
            None,
            format!("archiving failed: {}", error_chain(&e)),
        );
    }
    state.archive = Some(report);
}

/// Lists every id with `select=id`, recording them for the run. Returns whether the pass
/// stayed put (every page arrived and no sign of movement) and how many pages it took.
async fn id_listing(
    engine: &Engine,
    state: &mut RunState,
    page_size: u64,
) -> Result<(bool, u64), StoreError> {
    let limit = page_size as u32;
    let first = match engine.upstream().page_ids(0, limit).await {
        Ok(page) => page,
        Err(e) => {
            warn!(error = %error_chain(&e), "id-only listing failed; checking candidates by id");
            return Ok((false, 1));
        }
    };
    let plan = Plan::new(0, page_size, first.ids.len() as u64, first.total, u64::MAX);
    let mut continuity = Continuity::new(first.total, None);
    let mut consistent = true;
    let (mut end, moved) = record_ids(engine, state, &mut continuity, &plan, 0, &first).await?;
    consistent &= !moved;
    // Like the main pass: the planned pages concurrently, the page past the end only when the
    // last one was full. Requests are counted as they are sent, aborted or not.
    let sent = Arc::new(AtomicU64::new(1));
    let past_end = plan.pages - 1;
    if !end {
        let (upstream, task_plan, counter) =
            (engine.upstream().clone(), plan.clone(), Arc::clone(&sent));
        let mut pages =
            super::fetch::in_order(1..past_end, engine.settings().concurrency, move |i| {
                let (upstream, sent, skip) =
                    (upstream.clone(), Arc::clone(&counter), task_plan.skip(i));
                async move {
                    sent.fetch_add(1, Ordering::Relaxed);
                    (i, upstream.page_ids(skip, limit).await)
                }
            });
        let cancel = state.control.cancel.clone();
        while !end {
            match pages.next(&cancel).await {
                None => break,
                Some(Ok((i, Ok(page)))) => {
                    let (ended, moved) =
                        record_ids(engine, state, &mut continuity, &plan, i, &page).await?;
                    end = ended;
                    consistent &= !moved;
                }
                Some(Ok((_, Err(e)))) => {
                    warn!(error = %error_chain(&e), "a page of the id-only listing failed; checking the rest by id");
                    consistent = false;
                    break;
                }
                Some(Err(_)) => {
                    consistent = false;
                    break;
                }
            }
        }
    }
    if state.cancelled() {
        return Ok((false, sent.load(Ordering::Relaxed)));
    }
    if !end && consistent {
        sent.fetch_add(1, Ordering::Relaxed);
        match engine.upstream().page_ids(plan.skip(past_end), limit).await {
            Ok(page) => {
                let (_, moved) =
                    record_ids(engine, state, &mut continuity, &plan, past_end, &page).await?;
                consistent &= !moved;
            }
            Err(e) => {
                warn!(error = %error_chain(&e), "the id-only listing's last page failed; checking the rest by id");
                consistent = false;
            }
        }
    }
    let requests = sent.load(Ordering::Relaxed);
    Ok((consistent, requests))
}

/// Checks page `i` of the id-only listing and records its new ids for the run. Returns
/// whether the listing ended and whether it moved.
async fn record_ids(
    engine: &Engine,
    state: &RunState,
    continuity: &mut Continuity,
    plan: &Plan,
    i: u64,
    page: &IdPage,
) -> Result<(bool, bool), StoreError> {
    let refs: Vec<Option<&str>> = page.ids.iter().map(Option::as_deref).collect();
    let verdict = continuity.check(plan, i, page.total, &refs);
    let moved = !verdict.moved.is_empty();
    if moved {
        info!(reasons = ?verdict.moved, "the id-only listing moved");
    }
    let kept: Vec<&str> = refs[verdict.keep].iter().flatten().copied().collect();
    engine
        .store()
        .record_ids(state.run_id, SeenKind::IdListed, &kept)
        .await?;
    Ok((verdict.end, moved))
}

/// Asks the item endpoint for every candidate: a 404 is recorded as gone, a product is live
/// and goes to `writer`, a candidate whose check failed stays. Returns how many requests were
/// made.
async fn item_checks(
    engine: &Engine,
    state: &mut RunState,
    writer: &mut BatchWriter,
    candidates: &Candidates<'_>,
) -> Result<u64, StoreError> {
    let mut after: Option<String> = None;
    let mut requests = 0;
    loop {
        if state.cancelled() {
            return Ok(requests);
        }
        let ids = engine
            .store
            .candidate_ids(candidates, after.as_deref(), CHECK_CHUNK)
            .await?;
        let Some(last) = ids.last() else {
            return Ok(requests);
        };
        after = Some(last.clone());
        requests += ids.len() as u64;
        // A product in the answer is live: written (and seen) like a listed one; a candidate
        // whose check failed stays.
        let gone = super::targeted::fetch_and_write(engine, state, writer, ids).await;
        let refs: Vec<&str> = gone.iter().map(String::as_str).collect();
        engine
            .store
            .record_ids(state.run_id, SeenKind::Gone, &refs)
            .await?;
    }
}
