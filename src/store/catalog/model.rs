//! What a written product is sold as: its categories, variants and prices, written after its
//! products row in the same transaction. Only what changed is written: a variant whose hash is
//! unchanged keeps its rows, and only the variants written get their prices written.

use std::collections::HashMap;

use sqlx::{Postgres, Transaction};

use super::super::{StoreError, sql};
use super::copy::CopyRows;
use crate::domain::{PreparedProduct, Variant, VariantCounts};

/// Writes the categories, variants and prices of written products (their row ids with what
/// was written): `created` ones have none yet, `updated` ones are compared with what they have.
pub(super) async fn write_model(
    tx: &mut Transaction<'static, Postgres>,
    created: &[(i64, &PreparedProduct)],
    updated: &[(i64, &PreparedProduct)],
    category_ids: &HashMap<&str, i64>,
) -> Result<VariantCounts, StoreError> {
    let mut counts = VariantCounts::default();
    if !created.is_empty() {
        counts.created += copy_new_model(tx, created, category_ids).await?;
    }
    if !updated.is_empty() {
        let product_ids: Vec<i64> = updated.iter().map(|(id, _)| *id).collect();
        let c = CategoryRows::of(updated, category_ids);
        sqlx::query(sql::UPSERT_PRODUCT_CATEGORIES)
            .bind(&product_ids)
            .bind(&c.products)
            .bind(&c.categories)
            .bind(&c.positions)
            .execute(&mut **tx)
            .await?;
        let (v, by_key) = VariantRows::of(updated);
        let changed: Vec<Written> = v
            .bind(sqlx::query_as(sql::UPSERT_VARIANTS))
            .fetch_all(&mut **tx)
            .await?;
        counts.archived += sqlx::query(sql::ARCHIVE_VARIANTS)
            .bind(&product_ids)
            .bind(&v.product_ids)
            .bind(&v.external_ids)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        let new = changed.iter().filter(|(.., inserted)| *inserted).count() as u64;
        counts.created += new;
        counts.updated += changed.len() as u64 - new;
        if !changed.is_empty() {
            let variant_ids: Vec<i64> = changed.iter().map(|(id, ..)| *id).collect();
            let p = PriceRows::of(&changed, &by_key);
            p.bind(sqlx::query(sql::UPSERT_VARIANT_PRICES).bind(&variant_ids))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(counts)
}

/// Copies in the categories, variants and prices of new products (nothing to compare with):
/// their variant ids are taken from the sequence first, so each price row knows its variant.
/// Returns how many variants went in.
async fn copy_new_model(
    tx: &mut Transaction<'static, Postgres>,
    created: &[(i64, &PreparedProduct)],
    category_ids: &HashMap<&str, i64>,
) -> Result<u64, StoreError> {
    let mut categories = CopyRows::default();
    for (product_id, prepared) in created {
        for (position, category) in prepared.product.categories.iter().enumerate() {
            if let Some(id) = category_ids.get(category.slug.as_str()) {
                categories
                    .int(*product_id)
                    .int(*id)
                    .int(position as i64)
                    .end_row();
            }
        }
    }
    categories
        .copy_into(tx, sql::PRODUCT_CATEGORIES_COLUMNS)
        .await?;

    let wanted: usize = created.iter().map(|(_, p)| p.product.variants.len()).sum();
    let ids: Vec<i64> = sqlx::query_scalar(sql::NEXT_VARIANT_IDS)
        .bind(wanted as i64)
        .fetch_one(&mut **tx)
        .await?;
    let mut ids = ids.into_iter();
    let mut variants = CopyRows::default();
    let mut prices = CopyRows::default();
    for (product_id, prepared) in created {
        let product = &prepared.product;
        let hashes = &prepared.variant_hashes;
        for (position, (v, hash)) in product.variants.iter().zip(hashes).enumerate() {
            let Some(id) = ids.next() else {
                return Err(StoreError::Query(sqlx::Error::Protocol(format!(
                    "the sequence gave fewer than {wanted} variant ids"
                ))));
            };
            variants
                .int(id)
                .int(*product_id)
                .text(&v.external_id)
                .opt_text(v.sku.as_deref())
                .opt_text(v.barcode.as_deref())
                .text(&v.title)
                .int(position as i64)
                .json_object(&Object(&v.options))
                .opt_int(v.stock)
                .text(v.attributes.as_str())
                .bytes(hash.as_bytes())
                .end_row();
            for price in &v.prices {
                prices
                    .int(id)
                    .text(price.currency.as_str())
                    .text(price.kind.as_str())
                    .text(price.amount.as_str())
                    .opt_time(price.starts_at)
                    .opt_time(price.ends_at)
                    .end_row();
            }
        }
    }
    let copied = variants.copy_into(tx, sql::VARIANTS_COLUMNS).await?;
    prices.copy_into(tx, sql::VARIANT_PRICES_COLUMNS).await?;
    Ok(copied)
}

/// A variant row written: its id, product id, external id, and whether it was inserted.
type Written = (i64, i64, String, bool);

/// The categories of products, one array per column.
struct CategoryRows {
    products: Vec<i64>,
    categories: Vec<i64>,
    positions: Vec<i32>,
}

impl CategoryRows {
    fn of(written: &[(i64, &PreparedProduct)], category_ids: &HashMap<&str, i64>) -> Self {
        let mut rows = CategoryRows {
            products: Vec::with_capacity(written.len()),
            categories: Vec::with_capacity(written.len()),
            positions: Vec::with_capacity(written.len()),
        };
        for (product_id, prepared) in written {
            for (position, category) in prepared.product.categories.iter().enumerate() {
                if let Some(id) = category_ids.get(category.slug.as_str()) {
                    rows.products.push(*product_id);
                    rows.categories.push(*id);
                    rows.positions.push(position as i32);
                }
            }
        }
        rows
    }
}

/// The variants of written products, one array per column.
#[derive(Default)]
struct VariantRows<'a> {
    product_ids: Vec<i64>,
    external_ids: Vec<&'a str>,
    skus: Vec<Option<&'a str>>,
    barcodes: Vec<Option<&'a str>>,
    titles: Vec<&'a str>,
    positions: Vec<i32>,
    options: Vec<String>,
    stocks: Vec<Option<i64>>,
    attributes: Vec<&'a str>,
    hashes: Vec<&'a [u8]>,
}

/// Each written variant by (product id, external id).
type ByKey<'a> = HashMap<(i64, &'a str), &'a Variant>;

impl<'a> VariantRows<'a> {
    fn of(written: &[(i64, &'a PreparedProduct)]) -> (Self, ByKey<'a>) {
        let mut rows = VariantRows::default();
        let mut by_key = HashMap::with_capacity(written.len());
        for (product_id, prepared) in written {
            let variants = prepared.product.variants.iter();
            for (position, (variant, hash)) in variants.zip(&prepared.variant_hashes).enumerate() {
                rows.push(*product_id, position, variant, hash.as_bytes());
                by_key.insert((*product_id, variant.external_id.as_str()), variant);
            }
        }
        (rows, by_key)
    }

    fn bind<'q>(
        &'q self,
        query: sqlx::query::QueryAs<'q, Postgres, Written, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, Postgres, Written, sqlx::postgres::PgArguments> {
        query
            .bind(&self.product_ids)
            .bind(&self.external_ids)
            .bind(&self.skus)
            .bind(&self.barcodes)
            .bind(&self.titles)
            .bind(&self.positions)
            .bind(&self.options)
            .bind(&self.stocks)
            .bind(&self.attributes)
            .bind(&self.hashes)
    }

    fn push(&mut self, product_id: i64, position: usize, v: &'a Variant, hash: &'a [u8]) {
        self.product_ids.push(product_id);
        self.external_ids.push(&v.external_id);
        self.skus.push(v.sku.as_deref());
        self.barcodes.push(v.barcode.as_deref());
        self.titles.push(&v.title);
        self.positions.push(position as i32);
        self.options.push(json_object(&v.options));
        self.stocks.push(v.stock);
        self.attributes.push(v.attributes.as_str());
        self.hashes.push(hash);
    }
}

/// A variant's options as the `options` column holds them: `{"Size": "M"}`, written straight
/// from the pairs (a repeated name keeps its last value, as `jsonb` does).
fn json_object(pairs: &[(String, String)]) -> String {
    serde_json::to_string(&Object(pairs)).unwrap_or_else(|_| "{}".to_owned())
}

/// Name–value pairs serialised as one JSON object.
struct Object<'a>(&'a [(String, String)]);

impl serde::Serialize for Object<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// The prices of written variants, one array per column.
#[derive(Default)]
struct PriceRows<'a> {
    variant_ids: Vec<i64>,
    currencies: Vec<&'a str>,
    kinds: Vec<&'static str>,
    amounts: Vec<&'a str>,
    starts_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    ends_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
}

impl<'a> PriceRows<'a> {
    fn of(written: &[Written], by_key: &ByKey<'a>) -> Self {
        let mut rows = PriceRows::default();
        for (variant_id, product_id, external_id, _) in written {
            if let Some(variant) = by_key.get(&(*product_id, external_id.as_str())) {
                rows.push(*variant_id, variant);
            }
        }
        rows
    }

    fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(&self.variant_ids)
            .bind(&self.currencies)
            .bind(&self.kinds)
            .bind(&self.amounts)
            .bind(&self.starts_at)
            .bind(&self.ends_at)
    }

    fn push(&mut self, variant_id: i64, v: &'a Variant) {
        for price in &v.prices {
            self.variant_ids.push(variant_id);
            self.currencies.push(price.currency.as_str());
            self.kinds.push(price.kind.as_str());
            self.amounts.push(price.amount.as_str());
            self.starts_at.push(price.starts_at);
            self.ends_at.push(price.ends_at);
        }
    }
}
