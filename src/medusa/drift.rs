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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span};

use super::answers::{self, IdList, Listed, ListedPage};
use super::payload::{self, Raw};
use super::{Sink, SinkError};
use crate::domain::Price;
use crate::store::OwedProduct;

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
        let currency = &self.inner.settings.currency;
        let (mut drifted, mut variants_gone) = (Vec::new(), Vec::new());
        for product in &products {
            let Some(listed) = settled
                .get(&product.id)
                .and_then(|medusa_id| by_medusa_id.get(medusa_id))
            else {
                continue;
            };
            report.compared += 1;
            let Ok(raw) = Raw::of(product) else {
                continue; // Medusa refused it already: a `medusa` error says why
            };
            let fields = differences(product, &raw, listed, currency);
            if fields.is_empty() {
                continue;
            }
            debug!(product_id = %product.external_id, ?fields, "changed in Medusa");
            for field in &fields {
                *report.fields.entry(field).or_default() += 1;
            }
            if fields.contains(&"variants") && !has_our_variant(product, listed) {
                variants_gone.push(product.id);
            }
            drifted.push(product.id);
        }
        store.forget_medusa_variants(&variants_gone).await?;
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

/// Whether Medusa still has the variant the sink made for `product`.
fn has_our_variant(product: &OwedProduct, listed: &Listed) -> bool {
    listed
        .variants
        .iter()
        .any(|v| Some(&v.id) == product.medusa_variant_id.as_ref())
}

/// The owned fields whose Medusa copy `listed` differs from what the catalog wants of
/// `product` (with `raw`, its checked parts), in `currency`. Sets are compared as sets (Medusa
/// keeps no order of tags, categories or images the sink relies on), text that may be empty as
/// text, amounts as decimals and metadata as JSON values (Medusa writes `2.50` as `2.5`).
pub(super) fn differences(
    product: &OwedProduct,
    raw: &Raw,
    listed: &Listed,
    currency: &str,
) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |field: &'static str, same: bool| {
        if !same {
            fields.push(field);
        }
    };
    let status = if product.archived {
        "draft"
    } else {
        "published"
    };
    check(
        "external_id",
        listed.external_id.as_deref() == Some(&product.external_id),
    );
    check("handle", listed.handle.as_deref() == Some(&raw.handle));
    check("title", listed.title.as_deref() == Some(&product.title));
    check(
        "description",
        listed.description.as_deref().unwrap_or_default() == product.description,
    );
    check("status", listed.status.as_deref() == Some(status));
    check(
        "thumbnail",
        non_empty(listed.thumbnail.as_deref()) == non_empty(product.thumbnail.as_deref()),
    );
    check(
        "images",
        set(listed.images.iter().map(|i| i.url.as_str())) == set(product.images.iter()),
    );
    check(
        "tags",
        set(listed.tags.iter().map(|t| t.value.as_str())) == set(product.tags.iter()),
    );
    check(
        "categories",
        set(listed.categories.iter().map(|c| c.handle.as_str()))
            == set(product.category_slug.iter()),
    );
    let ours = listed
        .variants
        .iter()
        .find(|v| Some(&v.id) == product.medusa_variant_id.as_ref());
    check("variants", listed.variants.len() == 1 && ours.is_some());
    if let Some(variant) = ours {
        check("sku", variant.sku.as_deref() == product.sku.as_deref());
        let amounts: Vec<Option<String>> = variant
            .prices
            .iter()
            .filter(|p| p.currency_code.eq_ignore_ascii_case(currency))
            .map(|p| decimal(p.amount.get()))
            .collect();
        let wanted: Vec<Option<String>> = product.price.iter().map(|p| decimal(p)).collect();
        check("price", amounts == wanted);
    }
    let metadata = payload::owned_metadata(product, raw);
    let empty = serde_json::Map::new();
    let theirs = listed.metadata.as_ref().unwrap_or(&empty);
    let same = metadata.as_object().is_some_and(|ours| {
        ours.iter()
            .all(|(key, value)| same_json(value, theirs.get(key).unwrap_or(&Value::Null)))
    });
    check("metadata", same);
    fields
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.is_empty())
}

fn set<'a, S: AsRef<str> + ?Sized + 'a>(items: impl Iterator<Item = &'a S>) -> BTreeSet<&'a str> {
    items.map(AsRef::as_ref).collect()
}

/// A decimal's value in one notation: `19.50`, `19.5` and `1.95e1` are `19.5`.
fn decimal(text: &str) -> Option<String> {
    let plain = Price::parse(text).ok()?;
    let plain = plain.as_str();
    if !plain.contains('.') {
        return Some(plain.to_owned());
    }
    Some(plain.trim_end_matches('0').trim_end_matches('.').to_owned())
}

/// JSON values that mean the same once through Medusa: numbers by value (JavaScript writes
/// `2.50` as `2.5` and `1e2` as `100`), and a missing key the same as `null`.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).all(|key| {
            same_json(
                x.get(key).unwrap_or(&Value::Null),
                y.get(key).unwrap_or(&Value::Null),
            )
        }),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The product of `payload::owed_product`, linked, as Medusa lists it after a push.
    fn pushed() -> (OwedProduct, Listed) {
        let product = OwedProduct {
            medusa_product_id: Some("prod_1".into()),
            medusa_variant_id: Some("variant_1".into()),
            pushed_status: Some("published".into()),
            ..payload::owed_product()
        };
        let listed: Listed = serde_json::from_value(json!({
            "id": "prod_1",
            "external_id": "17",
            "handle": "red-lipstick",
            "title": "Red Lipstick",
            "description": "Bold",
            "status": "published",
            "thumbnail": "https://cdn/t.png",
            "metadata": {
                "brand": "Chic", "stock": 4, "category": "beauty", "source_updated_at": null,
                "attributes": {"rating": 4.50}, "someone_elses": true
            },
            "images": [{"url": "https://cdn/1.png"}],
            "tags": [{"value": "lipstick"}, {"value": "beauty"}],
            "categories": [{"handle": "beauty"}],
            "variants": [{"id": "variant_1", "sku": "BEA-17",
                "prices": [{"currency_code": "eur", "amount": 9.990}, {"currency_code": "usd", "amount": 11}]}]
        }))
        .unwrap();
        (product, listed)
    }

    fn diff(product: &OwedProduct, listed: &Listed) -> Vec<&'static str> {
        differences(product, &Raw::of(product).unwrap(), listed, "eur")
    }

    #[test]
    fn a_product_as_pushed_has_not_drifted() {
        let (product, listed) = pushed();
        assert_eq!(diff(&product, &listed), Vec::<&str>::new());
        let archived = OwedProduct {
            archived: true,
            ..product
        };
        let draft = Listed {
            status: Some("draft".into()),
            ..pushed().1
        };
        assert_eq!(diff(&archived, &draft), Vec::<&str>::new());
    }

    #[test]
    fn edits_in_medusa_are_named_by_field() {
        let (product, mut listed) = pushed();
        listed.title = Some("Blue Lipstick".into());
        listed.handle = Some("blue-lipstick".into());
        listed.variants[0].prices[0].amount =
            serde_json::value::RawValue::from_string("5".into()).unwrap();
        listed.tags.pop();
        listed.categories.clear();
        listed.status = Some("draft".into());
        listed.metadata.as_mut().unwrap()["brand"] = json!("Other");
        assert_eq!(
            diff(&product, &listed),
            [
                "handle",
                "title",
                "status",
                "tags",
                "categories",
                "price",
                "metadata"
            ]
        );
    }

    #[test]
    fn a_lost_or_added_variant_is_drift() {
        let (product, mut listed) = pushed();
        listed.variants[0].id = "variant_2".into();
        assert_eq!(diff(&product, &listed), ["variants"]);
        assert!(!has_our_variant(&product, &listed));
        let (product, mut listed) = pushed();
        let extra: Listed = serde_json::from_value(json!({"id": "x", "variants": [
            {"id": "variant_9", "sku": "OTHER", "prices": []}]}))
        .unwrap();
        listed.variants.extend(extra.variants);
        assert_eq!(diff(&product, &listed), ["variants"]);
        assert!(has_our_variant(&product, &listed));
    }

    #[test]
    fn values_mean_what_medusa_keeps_of_them() {
        assert_eq!(decimal("19.50"), decimal("19.5"));
        assert_eq!(decimal("100"), decimal("100.00"));
        assert_eq!(decimal("1.95e1").as_deref(), Some("19.5"));
        assert_ne!(decimal("19.5"), decimal("19.05"));
        assert!(same_json(
            &json!({"a": 2.50, "b": null}),
            &json!({"a": 2.5})
        ));
        assert!(same_json(&json!([1e2]), &json!([100])));
        assert!(!same_json(&json!({"a": "1"}), &json!({"a": 1})));
        let (product, mut listed) = pushed();
        listed.description = None;
        let empty = OwedProduct {
            description: String::new(),
            ..product
        };
        assert_eq!(diff(&empty, &listed), Vec::<&str>::new());
    }
}
