//! The run summary: what one sync did, published as `catalog.sync.completed` and stored with the
//! run. Field names are a contract other systems read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many errors a summary carries; the run's `sync_errors` rows keep more.
pub const MAX_SUMMARY_ERRORS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// Every upstream page; products not seen are archived.
    Full,
    /// A list of product ids.
    Products,
    /// A batch of `product.updated` events.
    Incremental,
    /// Products the source lists as changed since the last succeeded full run; never archives.
    Changes,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Full => "full",
            RunMode::Products => "products",
            RunMode::Incremental => "incremental",
            RunMode::Changes => "changes",
        }
    }

    pub fn parse(s: &str) -> Option<RunMode> {
        [
            RunMode::Full,
            RunMode::Products,
            RunMode::Incremental,
            RunMode::Changes,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Everything the run set out to do was done.
    Succeeded,
    /// Some pages, products or batches failed; the rest was written. Nothing was archived.
    Partial,
    /// Nothing could be done (e.g. the first page never came back).
    Failed,
    /// The request was answered without running (already covered by a newer run).
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }
}

/// What happened to products during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Products received from the upstream (or from events).
    pub fetched: u64,
    pub created: u64,
    /// Changed products, including archived products that came back.
    pub updated: u64,
    /// Products whose content hash matched: not written.
    pub unchanged: u64,
    pub archived: u64,
    /// Products lost to a failed page, an invalid body or a failed batch.
    pub failed: u64,
    pub categories_created: u64,
    /// Variants of the written products: a product's count above says it changed, these say
    /// which of its variants did.
    #[serde(default)]
    pub variants: VariantCounts,
    /// What the run pushed to Medusa, when MEDUSA_URL is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medusa: Option<MedusaCounts>,
}

/// What a run did to variants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantCounts {
    /// New variants (of new products, or added to a product).
    pub created: u64,
    /// Variants whose fields or prices changed, or that came back.
    pub updated: u64,
    /// Variants that disappeared from their product upstream.
    pub archived: u64,
}

impl std::ops::AddAssign for VariantCounts {
    fn add_assign(&mut self, other: VariantCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.archived += other.archived;
    }
}

/// A run and Medusa: what it pushed (its own changes or ones earlier runs still owed), what it
/// corrected, and where Medusa stood when it ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedusaCounts {
    /// New Medusa products.
    pub created: u64,
    /// Medusa products brought to the catalog's content, restored ones included.
    pub updated: u64,
    /// Medusa products set to draft or deleted because the catalog archived them.
    pub archived: u64,
    /// Products Medusa refused: recorded as `medusa` errors, not pushed again until they change.
    pub failed: u64,
    /// Pushes still owed when the run ended, as `status` counts them: with `delivered_by`
    /// `pusher`, what the worker's pusher has yet to deliver; with `run`, what the run could
    /// not (Medusa unreachable, say; a `medusa` error says why).
    pub owed: u64,
    /// Full syncs: products whose Medusa copy had drifted from the catalog (edited or deleted
    /// in Medusa) and were queued to be corrected.
    #[serde(default)]
    pub corrected: u64,
    /// Products Medusa has (published or draft) when the run ended, as `status` counts them.
    #[serde(default)]
    pub linked: u64,
    /// Who pushes the run's changes: the run itself before it ends (`catalog-sync sync`), or
    /// the worker's pusher (then `created`, `updated`, `archived` and `failed` stay 0: the
    /// pusher's work shows in `status` and the metrics).
    #[serde(default)]
    pub delivered_by: MedusaDelivery,
}

/// Who pushes a run's changes to Medusa.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedusaDelivery {
    /// The run, before it ends: the one-shot `catalog-sync sync`, which has no pusher that
    /// outlives it.
    #[default]
    Run,
    /// The worker's pusher, off the run's path: no event's acknowledgement waits for Medusa.
    Pusher,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// Why something in a run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The upstream API failed after its retries (page or product fetch).
    Upstream,
    /// The upstream sent an object that is not a valid product.
    InvalidProduct,
    /// Writing a batch to PostgreSQL failed after its retries.
    Store,
    /// The upstream catalog is larger than `SYNC_SAFE_MAX`: the rest was not synced.
    SafeMax,
    /// Archiving was refused because it would archive more than `SYNC_ARCHIVE_MAX_RATIO`.
    ArchiveGuard,
    /// The run was stopped before it finished.
    Cancelled,
    /// The upstream listing moved while it was read (a shift, a repeated id, more or fewer
    /// products than its total, a changed total): some products may not have been listed, so
    /// only products the upstream confirmed gone were archived.
    ListingMoved,
    /// A `changes` run could not list changes: the source has no `[changes]` block, or no
    /// full sync has succeeded yet to count changes from.
    ChangesUnavailable,
    /// Medusa refused a product, or could not be reached to push the run's changes.
    Medusa,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Upstream => "upstream",
            ErrorKind::InvalidProduct => "invalid_product",
            ErrorKind::Store => "store",
            ErrorKind::SafeMax => "safe_max",
            ErrorKind::ArchiveGuard => "archive_guard",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::ListingMoved => "listing_moved",
            ErrorKind::ChangesUnavailable => "changes_unavailable",
            ErrorKind::Medusa => "medusa",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorKind> {
        [
            ErrorKind::Upstream,
            ErrorKind::InvalidProduct,
            ErrorKind::Store,
            ErrorKind::SafeMax,
            ErrorKind::ArchiveGuard,
            ErrorKind::Cancelled,
            ErrorKind::ListingMoved,
            ErrorKind::ChangesUnavailable,
            ErrorKind::Medusa,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One failure in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// 1-based number of the batch that failed to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    pub kind: ErrorKind,
    pub message: String,
}

/// How a full sync's archive step confirmed that products it did not see are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveMethod {
    /// No product was missing from the listing.
    None,
    /// Each candidate was asked for by id; a 404 confirms it gone.
    ItemChecks,
    /// A second, id-only pass over the listing, checked for shifts, was cheaper than asking
    /// for each candidate: what it did not list either is gone.
    IdListing,
    /// The id-only pass itself moved; the candidates it left were asked for by id.
    IdListingThenItemChecks,
}

/// What a full sync's archive step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveReport {
    /// Live products the listing did not serve.
    pub candidates: u64,
    /// Of those, confirmed gone upstream (archived, unless the ratio guard refused or it was a
    /// dry run).
    pub confirmed: u64,
    pub method: ArchiveMethod,
    /// Item requests made to confirm candidates.
    pub item_checks: u64,
    /// Pages requested by the id-only pass.
    pub id_listing_pages: u64,
}

/// The attempt a run resumed from (its request was delivered again after a crash or a shutdown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumedFrom {
    pub run_id: Uuid,
    /// Listing offset the run resumed at; the products before it were committed by earlier
    /// attempts and not fetched again (this summary counts only its own work).
    pub skip: u64,
}

/// The `catalog.sync.completed` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: Uuid,
    pub request_id: String,
    pub mode: RunMode,
    pub status: RunStatus,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub counts: Counts,
    pub batches: BatchCounts,
    pub errors: Vec<RunError>,
    pub trace_id: Option<String>,
    /// Full syncs: how products missing from the listing were confirmed gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveReport>,
    /// Set when this run continued an earlier attempt of the same request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<ResumedFrom>,
    /// Targeted and event runs: the products the upstream does not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_found: Option<NotFound>,
}

/// Products a run asked the upstream for by id that its item endpoint answered 404 for. Those
/// the catalog had live were archived (they are in `counts.archived`); the others were not in
/// the catalog, and nothing was done with them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotFound {
    /// How many ids.
    pub count: u64,
    /// The first of them, at most [`MAX_SUMMARY_ERRORS`].
    pub ids: Vec<String>,
}

impl NotFound {
    /// Notes one more id the upstream does not have.
    pub fn note(&mut self, id: &str) {
        self.count += 1;
        if self.ids.len() < MAX_SUMMARY_ERRORS {
            self.ids.push(id.to_owned());
        }
    }
}

impl RunStatus {
    /// Judges a finished run: `failed` when it could not do its job at all, `partial` when
    /// anything went wrong along the way, `succeeded` otherwise.
    pub fn judge(fatal: bool, had_errors: bool) -> RunStatus {
        match (fatal, had_errors) {
            (true, _) => RunStatus::Failed,
            (false, true) => RunStatus::Partial,
            (false, false) => RunStatus::Succeeded,
        }
    }
}

#[cfg(test)]
mod tests;
