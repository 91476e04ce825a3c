//! A listing page sifted against the catalog before it is decoded: a record whose exact bytes
//! (its fingerprint) a live product already holds is unchanged, and the batch writer only
//! records it as seen; the others are decoded and hashed, off the writer's path.
//!
//! This is what keeps an unchanged re-run cheap: most of its cost would otherwise be decoding
//! products only to find their content hash unchanged.

use tracing::debug;

use crate::domain::{PreparedProduct, RecordFingerprint};
use crate::store::Store;
use crate::telemetry::error_chain;
use crate::upstream::{InvalidProduct, PageAt, RawPage, Upstream, UpstreamError};

/// Reads a run's listing pages: each fetched undecoded, sifted against the catalog, the rest
/// decoded. Cheap to clone (one per fetch task).
#[derive(Clone, Debug)]
pub(super) struct Lister {
    upstream: Upstream,
    /// The catalog to sift against; none when it is known to hold nothing to find.
    catalog: Option<Store>,
    /// Variant requests of one page in flight at a time, for a source that fetches variants.
    concurrency: usize,
}

impl Lister {
    pub fn new(upstream: Upstream, catalog: Option<Store>, concurrency: usize) -> Lister {
        Lister {
            upstream,
            catalog,
            concurrency: concurrency.max(1),
        }
    }

    /// The listing page `at` (with `since`: only products changed since then), ready for the
    /// run.
    pub async fn page(
        &self,
        at: &PageAt,
        since: Option<(&str, &str)>,
    ) -> Result<PreparedPage, UpstreamError> {
        let mut raw = self.upstream.records_at(at, since).await?;
        if self.upstream.fetches_variants() {
            self.fetch_variants(&mut raw).await;
        }
        Ok(sift(self.catalog.as_ref(), raw).await)
    }

    /// Fetches the variants of the page's products that list variant ids from their own
    /// endpoint, `concurrency` at a time. A product whose variants cannot be fetched fails
    /// alone; one the endpoint no longer has (404) fails alone too, and the next full sync's
    /// archive check confirms it gone.
    async fn fetch_variants(&self, page: &mut RawPage) {
        use futures_util::StreamExt;
        let wanted: Vec<(usize, String)> = (0..page.len())
            .filter(|i| page.wants_variants(*i))
            .filter_map(|i| Some((i, page.id(i)?.to_owned())))
            .collect();
        let fetched: Vec<(usize, Result<Vec<u8>, String>)> = futures_util::stream::iter(wanted)
            .map(|(i, id)| async move {
                let result = match self.upstream.variant_records(&id).await {
                    Ok(Some(records)) => Ok(records),
                    Ok(None) => Err(format!(
                        "the upstream has no variants of product {id} (404): it was removed while it was listed"
                    )),
                    Err(e) => Err(format!(
                        "could not fetch the variants of product {id}: {}",
                        error_chain(&e)
                    )),
                };
                (i, result)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for (i, result) in fetched {
            page.set_variants(i, result);
        }
    }
}

/// One record of a listing page, as the run takes it.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a page holds at most one page of records; boxing would cost an allocation per product"
)]
pub(super) enum Listed {
    /// The catalog holds this record's exact bytes for a live product.
    Unchanged(String),
    /// A product to write (new, changed, or not known by its bytes), or why it is none.
    Read(Result<PreparedProduct, InvalidProduct>),
}

impl Listed {
    /// The record's id, valid product or not.
    pub fn id(&self) -> Option<&str> {
        match self {
            Listed::Unchanged(id) => Some(id),
            Listed::Read(Ok(product)) => Some(product.product.external_id.as_str()),
            Listed::Read(Err(invalid)) => invalid.product_id.as_deref(),
        }
    }
}

/// A listing page ready for the run.
#[derive(Debug)]
pub(super) struct PreparedPage {
    pub total: Option<u64>,
    pub products: Vec<Listed>,
    pub next: Option<PageAt>,
}

/// Sifts `page` against the catalog (when given) and decodes the rest. When the catalog cannot
/// be asked, every record is decoded: the batch writer finds the unchanged ones by their
/// content hash instead.
async fn sift(catalog: Option<&Store>, page: RawPage) -> PreparedPage {
    let mut known = vec![false; page.len()];
    let fingerprints: Vec<Option<RecordFingerprint>> =
        (0..page.len()).map(|i| page.fingerprint(i)).collect();
    let Some(store) = catalog else {
        return decoded(page, &known, &fingerprints);
    };
    let candidates: Vec<(usize, &str, RecordFingerprint)> = (0..page.len())
        .filter_map(|i| Some((i, page.id(i)?, fingerprints[i]?)))
        .collect();
    let ids: Vec<&str> = candidates.iter().map(|(_, id, _)| *id).collect();
    let sought: Vec<&[u8]> = candidates.iter().map(|(_, _, f)| f.as_bytes()).collect();
    match store.unchanged_records(&ids, &sought).await {
        Ok(unchanged) => {
            for position in unchanged {
                if let Some((i, _, _)) = candidates.get(position) {
                    known[*i] = true;
                }
            }
        }
        Err(e) => {
            debug!(error = %error_chain(&e), "could not sift the page; decoding every record");
        }
    }
    decoded(page, &known, &fingerprints)
}

/// `page` ready for the run: the `known` records as unchanged, the others decoded.
fn decoded(
    page: RawPage,
    known: &[bool],
    fingerprints: &[Option<RecordFingerprint>],
) -> PreparedPage {
    let products = (0..page.len())
        .map(|i| match (known[i], page.id(i), fingerprints[i]) {
            (true, Some(id), _) => Listed::Unchanged(id.to_owned()),
            (_, _, Some(fingerprint)) => Listed::Read(
                page.decode(i)
                    .map(|product| PreparedProduct::listed(product, fingerprint)),
            ),
            (_, _, None) => Listed::Read(page.decode(i).map(PreparedProduct::from)),
        })
        .collect();
    PreparedPage {
        total: page.total,
        next: page.next.clone(),
        products,
    }
}
