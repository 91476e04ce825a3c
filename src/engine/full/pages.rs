//! What a full sync does with each page it reads: checks it against the one before, hands its
//! products to the writer, and keeps the committed prefix as the run's checkpoint.

use super::super::checkpoint::Tracker;
use super::super::listed::{Listed, PreparedPage};
use super::super::listing::{Continuity, Plan};
use super::super::run::RunState;
use super::super::writer::BatchWriter;
use crate::domain::ErrorKind;
use crate::store::ListingCheckpoint;
use crate::telemetry::error_chain;
use crate::upstream::UpstreamError;

/// Most `listing_moved` errors one run records; further signs are only counted.
const MAX_MOVED_ERRORS: u64 = 5;

/// Signs that the listing moved while it was read.
#[derive(Debug, Default)]
pub(in crate::engine) struct Moved {
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
    pub(super) fn report(&self, state: &mut RunState) {
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
pub(super) struct Listing {
    pub(super) plan: Plan,
    pub(super) continuity: Continuity,
    pub(super) tracker: Tracker,
    /// The `total` the first page reported.
    pub(super) total: u64,
    /// Every page arrived.
    pub(super) complete: bool,
    /// Signs that the listing moved.
    pub(super) moved: Moved,
}

impl Listing {
    /// Checks page `i` against the one before and hands its new products to the writer.
    /// Returns whether the listing ended with this page.
    pub(super) async fn take(
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
    pub(super) fn lose(&mut self, state: &mut RunState, i: u64, e: &UpstreamError) {
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
    pub(super) fn settle(&mut self, state: &mut RunState, writer: &BatchWriter) {
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
pub(in crate::engine) async fn take_products(
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
