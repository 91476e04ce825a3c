//! Full sync: every page of the upstream listing, fetched `SYNC_CONCURRENCY` at a time into a
//! bounded queue and written in batches; then the products the listing did not serve are
//! confirmed gone upstream before they are archived ([`super::confirm`]).
//!
//! The listing is read as a listing that may move ([`super::listing`]): pages overlap by one
//! product, paging stops at the first empty page and never goes beyond what the first page's
//! `total` implies (plus one page), and every sign of movement is reported as `listing_moved`.
//! The committed prefix is kept as the run's checkpoint, so a later attempt of the same request
//! resumes there instead of starting over.

use tracing::{info, warn};

use super::Engine;
use super::checkpoint::Tracker;
use super::fetch;
use super::listing::{Continuity, Plan};
use super::run::RunState;
use super::writer::BatchWriter;
use crate::domain::ErrorKind;
use crate::store::{Candidates, ListingCheckpoint, WriteOptions};
use crate::telemetry::error_chain;
use crate::upstream::{Access, PageAt};

mod pages;

use pages::Listing;
pub(super) use pages::{Moved, take_products};

pub(super) async fn run(engine: &Engine, state: &mut RunState, resume: Option<ListingCheckpoint>) {
    let settings = engine.settings();
    let mut writer = engine.writer(
        WriteOptions {
            seen_by: Some(state.run_id),
            respect_source_order: true,
            strict_restore: false,
            future_tolerance: engine.settings().future_tolerance,
        },
        state.dry_run,
    );
    // Only an offset listing can be entered in the middle; other styles start over (their
    // writes of unchanged products are skipped by the content hash).
    let access = engine.upstream().access();
    let resume = resume.filter(|r| r.skip > 0 && access == Access::Offsets);
    let mut seen_runs = resume
        .as_ref()
        .map(|r| r.seen_runs.clone())
        .unwrap_or_default();
    seen_runs.push(state.run_id);
    state.seen_runs = seen_runs;
    // A resumed run starts one product before its checkpoint, which must be the product the
    // earlier attempt saw there: the overlap tells whether the listing moved in between.
    let (start, expected_first) = match &resume {
        Some(r) => (r.skip - 1, r.last_id.clone()),
        None => (0, None),
    };

    let lister = engine.lister().await;
    let first = match lister
        .page(
            &PageAt::Offset {
                skip: start,
                limit: settings.page_size,
            },
            None,
        )
        .await
    {
        Ok(page) => page,
        Err(e) => {
            state.fatal(
                ErrorKind::Upstream,
                format!("first page (skip={start}) failed: {}", error_chain(&e)),
            );
            return;
        }
    };
    let total = match first.total.filter(|_| access != Access::Sequential) {
        Some(total) => total,
        None => {
            let read =
                super::sequential::read(engine, &lister, state, &mut writer, first, None).await;
            writer.finish(state).await;
            let mut moved = read.moved;
            let archivable = read.complete && !read.capped;
            let paging = (u64::from(settings.page_size), read.products);
            archive_step(engine, state, &mut writer, archivable, &mut moved, paging).await;
            return;
        }
    };
    let plan = if access == Access::Offsets {
        Plan::new
    } else {
        Plan::without_overlap
    }(
        start,
        u64::from(settings.page_size),
        first.products.len() as u64,
        total,
        settings.safe_max,
    );
    if plan.page_size < u64::from(settings.page_size) {
        info!(
            asked = settings.page_size,
            served = plan.page_size,
            "upstream serves smaller pages than asked; following it"
        );
    }
    state.total = plan.planned.saturating_sub(start);
    state.share_progress();
    info!(
        total,
        planned = plan.planned,
        start,
        pages = plan.pages,
        "catalog size known"
    );

    let mut listing = Listing {
        continuity: Continuity::new(total, expected_first),
        tracker: Tracker::new(resume.as_ref().map(|r| (r.skip, r.last_id.clone()))),
        total,
        complete: true,
        moved: Moved::default(),
        plan,
    };
    // Changes since the earlier attempt beyond its checkpoint are read like any others; one
    // before it that shifted the listing shows in the first page's overlap.
    let mut end = listing.take(state, &mut writer, 0, first).await;

    // Pages after the first, fetched by spawned tasks so they progress while a batch is being
    // written; `buffered` keeps at most `concurrency` of them in flight or waiting, in order.
    // Dropping the stream at the first empty page aborts the requests still in flight. The
    // page past the end that `total` implies is asked for only once the others are in and the
    // last of them was full: usually it is short and ends the listing.
    let plan = listing.plan.clone();
    let past_end = (!plan.capped).then(|| plan.pages - 1);
    if !end {
        let (task_lister, task_plan) = (lister.clone(), plan.clone());
        let mut pages = fetch::in_order(
            1..past_end.unwrap_or(plan.pages),
            settings.concurrency,
            move |i| {
                let lister = task_lister.clone();
                let at = PageAt::Offset {
                    skip: task_plan.skip(i),
                    limit: task_plan.limit(i) as u32,
                };
                // Sifting, decoding and hashing happen in the task, off the writer's path.
                async move { (i, lister.page(&at, None).await) }
            },
        );
        let cancel = state.control.cancel.clone();
        while !end {
            // A batch that commits while the next page is on its way moves the progress and
            // the checkpoint at once, however slow the upstream is.
            let next = tokio::select! {
                next = pages.next(&cancel) => next,
                written = writer.next_written() => {
                    writer.book(written, state).await;
                    listing.settle(state, &writer);
                    continue;
                }
            };
            match next {
                None => break,
                Some(Ok((i, Ok(page)))) => end = listing.take(state, &mut writer, i, page).await,
                Some(Ok((i, Err(e)))) => listing.lose(state, i, &e),
                Some(Err(e)) => {
                    state.fatal(ErrorKind::Upstream, format!("page fetch task failed: {e}"));
                    break;
                }
            }
        }
    }
    if let Some(i) = past_end.filter(|_| !end && !state.cancelled()) {
        let at = PageAt::Offset {
            skip: plan.skip(i),
            limit: plan.limit(i) as u32,
        };
        match lister.page(&at, None).await {
            Ok(page) => {
                listing.take(state, &mut writer, i, page).await;
            }
            Err(e) => listing.lose(state, i, &e),
        }
    }
    writer.finish(state).await;
    listing.settle(state, &writer);
    // Said once the listing is read, with what it served: a total that lies high stops the
    // listing long before SYNC_SAFE_MAX.
    if listing.plan.capped && !state.cancelled() {
        let fetched = state.counts.fetched;
        let ended = start + fetched < listing.plan.planned;
        let said = capped(total, settings.safe_max, start, fetched, ended);
        state.error(ErrorKind::SafeMax, None, None, said);
    }

    let archivable = listing.complete && !listing.plan.capped;
    let (page_size, total) = (listing.plan.page_size, listing.total);
    archive_step(
        engine,
        state,
        &mut writer,
        archivable,
        &mut listing.moved,
        (page_size, total),
    )
    .await;
}

/// Why a listing whose `total` is over `safe_max` archived nothing, and how far this run read
/// it (`fetched` products from offset `start`): to SYNC_SAFE_MAX, or to where the listing
/// `ended` before it, its total notwithstanding.
fn capped(total: u64, safe_max: u64, start: u64, fetched: u64, ended: bool) -> String {
    let from = match start {
        0 => String::new(),
        skip => format!(" from listing offset {skip}"),
    };
    if ended {
        format!(
            "the upstream says it lists {total} products, more than SYNC_SAFE_MAX={safe_max}, but its listing ended after {fetched}{from}: they were synced, and nothing was archived because the listing and its total disagree"
        )
    } else {
        format!(
            "the upstream lists {total} products, more than SYNC_SAFE_MAX={safe_max}: the run stopped there, after {fetched}{from}, and archived nothing"
        )
    }
}

/// The end of a full sync once every page is written: the listing's last checks (ids served
/// twice), then the archive step when every page arrived. `(page_size, total)` is how the
/// listing paged and how many products it said it had.
async fn archive_step(
    engine: &Engine,
    state: &mut RunState,
    writer: &mut BatchWriter,
    listing_complete: bool,
    moved: &mut Moved,
    (page_size, total): (u64, u64),
) {
    if state.cancelled() {
        info!(run_id = %state.run_id, "run interrupted; nothing is archived");
        return;
    }
    let archivable =
        listing_complete && state.fatal_message().is_none() && state.batches.failed == 0;
    // Both read the whole seen list: side by side, on two connections.
    let seen_runs = state.seen_runs.clone();
    let candidates = Candidates {
        seen_runs: &seen_runs,
        run_id: state.run_id,
        after_id_listing: false,
    };
    let (repeated, counted) = tokio::join!(engine.store().seen_twice(state.run_id), async {
        if archivable {
            Some(engine.store().count_candidates(&candidates).await)
        } else {
            None
        }
    });
    match repeated {
        Ok(0) => {}
        Ok(repeated) => moved.note(
            state,
            format!("the listing served {repeated} products more than once"),
        ),
        Err(e) => warn!(error = %error_chain(&e), "could not check the listing for repeated ids"),
    }
    moved.report(state);
    if let Some(counted) = counted {
        let listing_moved = moved.count > 0;
        super::confirm::archive_missing(
            engine,
            state,
            writer,
            (page_size, total),
            listing_moved,
            counted,
        )
        .await;
    } else {
        info!(run_id = %state.run_id, "not every product arrived; nothing is archived");
    }
}
