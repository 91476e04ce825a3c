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
use super::listed::{Listed, PreparedPage};
use super::listing::{Continuity, Plan};
use super::run::RunState;
use super::writer::BatchWriter;
use crate::domain::ErrorKind;
use crate::store::{Candidates, ListingCheckpoint, WriteOptions};
use crate::telemetry::error_chain;
use crate::upstream::{Access, PageAt, UpstreamError};

/// Most `listing_moved` errors one run records; further signs are only counted.
const MAX_MOVED_ERRORS: u64 = 5;

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

/// Signs that the listing moved while it was read.
#[derive(Debug, Default)]
pub(super) struct Moved {
    pub count: u64,
}

impl Moved {
    /// Notes a sign that the listing moved; the first few are the run's `listing_moved` errors.
    pub fn note(&mut self, state: &mut RunState, reason: String) {
        self.count += 1;
        if self.count <= MAX_MOVED_ERRORS {
            state.error(ErrorKind::ListingMoved, None, None, reason);
        }
    }

    /// Records how many signs of movement went unrecorded, if any.
    fn report(&self, state: &mut RunState) {
        if self.count > MAX_MOVED_ERRORS {
            state.error(
                ErrorKind::ListingMoved,
                None,
                None,
                format!(
                    "{} more signs that the listing moved",
                    self.count - MAX_MOVED_ERRORS
                ),
            );
        }
    }
}

/// A full sync's reading of the listing: the plan, the continuity checks and the committed
/// prefix.
struct Listing {
    plan: Plan,
    continuity: Continuity,
    tracker: Tracker,
    /// The `total` the first page reported.
    total: u64,
    /// Every page arrived.
    complete: bool,
    /// Signs that the listing moved.
    moved: Moved,
}

impl Listing {
    /// Checks page `i` against the one before and hands its new products to the writer.
    /// Returns whether the listing ended with this page.
    async fn take(
        &mut self,
        state: &mut RunState,
        writer: &mut BatchWriter,
        i: u64,
        page: PreparedPage,
    ) -> bool {
        let verdict = {
            let ids: Vec<Option<&str>> = page.products.iter().map(Listed::id).collect();
            self.continuity
                .check(&self.plan, i, page.total.unwrap_or(self.total), &ids)
        };
        for reason in verdict.moved {
            self.moved.note(state, reason);
        }
        let keep = verdict.keep;
        let last_id = keep
            .end
            .checked_sub(1)
            .and_then(|last| page.products[last].id().map(str::to_owned));
        take_products(
            state,
            writer,
            page.products.into_iter().skip(keep.start).take(keep.len()),
        )
        .await;
        self.tracker.page_taken(
            writer.mark(state),
            self.plan.skip(i) + keep.end as u64,
            last_id,
        );
        self.settle(state, writer);
        verdict.end
    }

    /// Page `i` could not be fetched: its products count as failed, the run archives nothing,
    /// and the checkpoint stays before it.
    fn lose(&mut self, state: &mut RunState, i: u64, e: &UpstreamError) {
        self.complete = false;
        self.continuity.lost();
        self.tracker.page_lost();
        let (skip, limit) = (self.plan.skip(i), self.plan.limit(i));
        // The products only this page would have served: its first is the last of the page
        // before, its last the first of the page after.
        let neighbours = if self.plan.overlaps {
            u64::from(i > 0) + u64::from(i + 1 < self.plan.pages)
        } else {
            0
        };
        // They count as fetched too, so fetched = created + updated + unchanged + failed in
        // every outcome: `fetched` is every product the run accounted for.
        let lost = self.plan.expected(i).saturating_sub(neighbours);
        state.counts.fetched += lost;
        state.counts.failed += lost;
        state.error(
            ErrorKind::Upstream,
            None,
            None,
            format!("page skip={skip} limit={limit} failed: {}", error_chain(e)),
        );
    }

    /// Moves the checkpoint up to the pages whose batches are all committed.
    fn settle(&mut self, state: &mut RunState, writer: &BatchWriter) {
        self.tracker.committed_through(writer.committed_through());
        if let Some((skip, last_id)) = self.tracker.committed()
            && state.listing.as_ref().is_none_or(|l| l.skip != skip)
        {
            state.listing = Some(ListingCheckpoint {
                skip,
                last_id,
                total: self.total,
                seen_runs: state.seen_runs.clone(),
            });
            state.share_progress();
        }
    }
}

/// Hands listed products to the writer (a record known unchanged by its bytes only to be
/// recorded as seen); one that is not a valid product fails alone.
pub(super) async fn take_products(
    state: &mut RunState,
    writer: &mut BatchWriter,
    items: impl IntoIterator<Item = Listed>,
) {
    for item in items {
        state.counts.fetched += 1;
        match item {
            Listed::Unchanged(id) => {
                state.counts.unchanged += 1;
                writer.push_unchanged(id, state).await;
            }
            Listed::Read(Ok(product)) => writer.push(product, state).await,
            Listed::Read(Err(invalid)) => {
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
}
