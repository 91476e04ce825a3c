//! Drift: changes made on Medusa's side. catalog-sync owns the Medusa fields it writes; a full
//! sync reads Medusa's products in pages (the owned fields only), compares each linked product
//! with the catalog, and queues those whose Medusa copy differs (an edit in the Medusa admin)
//! or that Medusa no longer has (deleted there). The queued products are then pushed like any
//! other: the correction goes through the outbox.
//!
//! The cost follows the catalog: one listing request per [`PAGE`] Medusa products (read
//! `MEDUSA_CONCURRENCY` at a time) and two indexed queries per page. Products Medusa no longer has are found by counting: only when
//! fewer linked products were listed than are linked are the links asked for by id, a request
//! per [`ID_CHUNK`] of them.

mod compare;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span};

use super::answers::{self, IdList, Listed, ListedPage};
use super::payload::Raw;
use super::{Sink, SinkError};

/// Medusa products read per listing request.
const PAGE: usize = 200;

/// Links asked for at once when looking for products Medusa no longer has (the ids travel in
/// the query string).
const ID_CHUNK: usize = 100;

/// Linked products listed, to find those Medusa no longer has.
struct Tally {
    started_at: DateTime<Utc>,
    /// Listed products whose link was last pushed before `started_at`.
    linked_listed: u64,
}

/// What a drift check found.
#[derive(Debug, Default)]
pub struct DriftReport {
    /// Requests made to Medusa: listing pages, and lookups of missing products by id.
    pub requests: u64,
    /// Medusa products read.
    pub listed: u64,
    /// Linked products compared with the catalog.
    pub compared: u64,
    /// Products queued to be corrected.
    pub corrected: u64,
    /// How often each owned field had drifted (`gone`: deleted in Medusa).
    pub fields: BTreeMap<&'static str, u64>,
}

impl Sink {
    /// Finds what changed on Medusa's side in the fields the sink owns, and queues the products
    /// to correct. Stops between pages when `cancel` is cancelled.
    pub(super) async fn correct_drift(
        &self,
        cancel: &CancellationToken,
    ) -> Result<DriftReport, SinkError> {
        let span = info_span!(
            "medusa.drift",
            listed = tracing::field::Empty,
            corrected = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = self.check_drift(cancel).instrument(span.clone()).await;
        if let Ok(report) = &result {
            span.record("listed", report.listed);
            span.record("corrected", report.corrected);
            // Once per full sync: what the check cost, for an operator to weigh.
            info!(
                parent: &span,
                listed = report.listed,
                compared = report.compared,
                corrected = report.corrected,
                requests = report.requests,
                elapsed_ms = started.elapsed().as_millis() as u64,
                fields = ?report.fields,
                "Medusa compared with the catalog"
            );
        }
        crate::telemetry::record_result(&span, &result);
        result
    }

    async fn check_drift(&self, cancel: &CancellationToken) -> Result<DriftReport, SinkError> {
        // The same store as the links (it forgets them when it is another one).
        self.context().await?;
        let store = &self.inner.store;
        let mut report = DriftReport::default();
        let mut tally = Tally {
            // Links made or changed while the check runs (a pusher works meanwhile) are left
            // out of the count of products Medusa no longer has: their pages may have been
            // read before.
            started_at: Utc::now(),
            linked_listed: 0,
        };
        // The first page says how many there are; the others are read MEDUSA_CONCURRENCY at a
        // time (Medusa answers two pages at once faster than one after the other) and
        // compared in order.
        let first = self.listing_page(0).await?;
        let pages = first.1.count.div_ceil(PAGE as u64) as usize;
        let mut rest = futures_util::stream::iter(1..pages)
            .map(|page| self.listing_page(page * PAGE))
            .buffered(self.inner.settings.concurrency);
        let mut next = Some(Ok(first));
        while let Some(page) = next {
            if cancel.is_cancelled() {
                return Ok(report);
            }
            let (read_at, page) = page?;
            report.requests += 1;
            self.compare_page(read_at, &page, &mut tally, &mut report)
                .await?;
            next = rest.next().await;
        }
        if tally.linked_listed < store.medusa_linked_before(tally.started_at).await? {
            let gone = self.find_gone(cancel, &mut report.requests).await?;
            if !gone.is_empty() {
                *report.fields.entry("gone").or_default() += gone.len() as u64;
                report.corrected += store.medusa_links_vanished(&gone).await?;
            }
        }
        Ok(report)
    }

    /// The page of Medusa's products at `offset`, with the time it was asked for.
    async fn listing_page(&self, offset: usize) -> Result<(DateTime<Utc>, ListedPage), SinkError> {
        let read_at = Utc::now();
        let (limit, offset) = (PAGE.to_string(), offset.to_string());
        let page = self
            .inner
            .client
            .get(
                "admin/products",
                &[
                    ("fields", answers::OWNED_FIELDS),
                    ("limit", limit.as_str()),
                    ("offset", offset.as_str()),
                    ("order", "id"),
                ],
            )
            .await?;
        Ok((read_at, page))
    }

    /// Compares the linked products of a page with the catalog and queues those that drifted.
    async fn compare_page(
        &self,
        read_at: DateTime<Utc>,
        page: &ListedPage,
        tally: &mut Tally,
        report: &mut DriftReport,
    ) -> Result<(), SinkError> {
        let store = &self.inner.store;
        report.listed += page.products.len() as u64;
        let ids: Vec<&str> = page.products.iter().map(|p| p.id.as_str()).collect();
        let links = store.medusa_links_listed(&ids).await?;
        tally.linked_listed += links
            .iter()
            .filter(|l| l.pushed_at < tally.started_at)
            .count() as u64;
        // A product owed, or pushed since this page was read, is not compared: the push brings
        // it to the catalog's state, or already did.
        let settled: HashMap<i64, &str> = links
            .iter()
            .filter(|l| !l.owed && l.pushed_at < read_at)
            .map(|l| (l.product_id, l.medusa_product_id.as_str()))
            .collect();
        let ids: Vec<i64> = settled.keys().copied().collect();
        let products = store.load_medusa_owed(&ids).await?;
        let by_medusa_id: HashMap<&str, &Listed> =
            page.products.iter().map(|p| (p.id.as_str(), p)).collect();
        let currencies = &self.context().await?.currencies;
        let (mut drifted, mut recheck) = (Vec::new(), Vec::new());
        for product in &products {
            let Some(listed) = settled
                .get(&product.id)
                .and_then(|medusa_id| by_medusa_id.get(medusa_id))
            else {
                continue;
            };
            report.compared += 1;
            let Ok(raw) = Raw::of(product, currencies, &mut Default::default()) else {
                continue; // Medusa refused it already: a `medusa` error says why
            };
            let fields = compare::differences(product, &raw, listed);
            if fields.is_empty() {
                continue;
            }
            debug!(product_id = %product.product.external_id, ?fields, "changed in Medusa");
            for field in &fields {
                *report.fields.entry(field).or_default() += 1;
            }
            if fields.iter().any(|f| compare::VARIANT_FIELDS.contains(f)) {
                recheck.push(product.id);
            }
            drifted.push(product.id);
        }
        store.recheck_medusa_variants(&recheck).await?;
        report.corrected += store.queue_medusa(&drifted).await?;
        Ok(())
    }

    /// The linked products Medusa no longer has, asked for by id.
    async fn find_gone(
        &self,
        cancel: &CancellationToken,
        requests: &mut u64,
    ) -> Result<Vec<i64>, SinkError> {
        let store = &self.inner.store;
        let mut gone = Vec::new();
        let mut after = 0i64;
        while !cancel.is_cancelled() {
            let links = store.medusa_links_after(after, ID_CHUNK).await?;
            let Some((last, _)) = links.last() else {
                break;
            };
            after = *last;
            let limit = links.len().to_string();
            let mut query = vec![("fields", "id"), ("limit", limit.as_str())];
            query.extend(links.iter().map(|(_, id)| ("id[]", id.as_str())));
            let found: IdList = self.inner.client.get("admin/products", &query).await?;
            *requests += 1;
            let found: BTreeSet<&str> = found.records.iter().map(|r| r.id.as_str()).collect();
            gone.extend(
                links
                    .iter()
                    .filter(|(_, id)| !found.contains(id.as_str()))
                    .map(|(product_id, _)| *product_id),
            );
        }
        Ok(gone)
    }
}

#[cfg(test)]
mod tests;
