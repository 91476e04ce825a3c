//! What a written product is sold as: its categories, variants and prices, written after its
//! products row in the same transaction. Only what changed is written: a variant whose hash is
//! unchanged keeps its rows, and only the variants written get their prices written.

use std::collections::HashMap;

use sqlx::{Postgres, Transaction};

use super::super::{StoreError, sql};
use crate::domain::{PreparedProduct, Variant, VariantCounts};

/// Writes the categories, variants and prices of `written` products (their row ids with what
/// was written), whose categories' ids are in `category_ids`.
pub(super) async fn write_model(
    tx: &mut Transaction<'static, Postgres>,
    written: &[(i64, &PreparedProduct)],
    category_ids: &HashMap<&str, i64>,
) -> Result<VariantCounts, StoreError> {
    if written.is_empty() {
        return Ok(VariantCounts::default());
    }
    let product_ids: Vec<i64> = written.iter().map(|(id, _)| *id).collect();
    write_categories(tx, written, &product_ids, category_ids).await?;

    let mut v = VariantRows::default();
    let mut by_key: HashMap<(i64, &str), &Variant> = HashMap::new();
    for (product_id, prepared) in written {
        for (position, variant) in prepared.product.variants.iter().enumerate() {
            v.push(*product_id, position, variant);
            by_key.insert((*product_id, variant.external_id.as_str()), variant);
        }
    }
    let changed: Vec<(i64, i64, String, bool)> = sqlx::query_as(sql::UPSERT_VARIANTS)
        .bind(&v.product_ids)
        .bind(&v.external_ids)
        .bind(&v.skus)
        .bind(&v.barcodes)
        .bind(&v.titles)
        .bind(&v.positions)
        .bind(&v.options)
        .bind(&v.stocks)
        .bind(&v.attributes)
        .bind(&v.hashes)
        .fetch_all(&mut **tx)
        .await?;
    let archived = sqlx::query(sql::ARCHIVE_VARIANTS)
        .bind(&product_ids)
        .bind(&v.product_ids)
        .bind(&v.external_ids)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let created = changed.iter().filter(|(.., inserted)| *inserted).count() as u64;

    let mut p = PriceRows::default();
    for (variant_id, product_id, external_id, _) in &changed {
        if let Some(variant) = by_key.get(&(*product_id, external_id.as_str())) {
            p.push(*variant_id, variant);
        }
    }
    let variant_ids: Vec<i64> = changed.iter().map(|(id, ..)| *id).collect();
    if !variant_ids.is_empty() {
        sqlx::query(sql::UPSERT_VARIANT_PRICES)
            .bind(&variant_ids)
            .bind(&p.variant_ids)
            .bind(&p.currencies)
            .bind(&p.kinds)
            .bind(&p.amounts)
            .bind(&p.starts_at)
            .bind(&p.ends_at)
            .execute(&mut **tx)
            .await?;
    }
    Ok(VariantCounts {
        created,
        updated: changed.len() as u64 - created,
        archived,
    })
}

async fn write_categories(
    tx: &mut Transaction<'static, Postgres>,
    written: &[(i64, &PreparedProduct)],
    product_ids: &[i64],
    category_ids: &HashMap<&str, i64>,
) -> Result<(), StoreError> {
    let (mut products, mut categories, mut positions) = (Vec::new(), Vec::new(), Vec::new());
    for (product_id, prepared) in written {
        for (position, category) in prepared.product.categories.iter().enumerate() {
            if let Some(id) = category_ids.get(category.slug.as_str()) {
                products.push(*product_id);
                categories.push(*id);
                positions.push(position as i32);
            }
        }
    }
    sqlx::query(sql::UPSERT_PRODUCT_CATEGORIES)
        .bind(product_ids)
        .bind(&products)
        .bind(&categories)
        .bind(&positions)
        .execute(&mut **tx)
        .await?;
    Ok(())
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
    hashes: Vec<Vec<u8>>,
}

impl<'a> VariantRows<'a> {
    fn push(&mut self, product_id: i64, position: usize, v: &'a Variant) {
        self.product_ids.push(product_id);
        self.external_ids.push(&v.external_id);
        self.skus.push(v.sku.as_deref());
        self.barcodes.push(v.barcode.as_deref());
        self.titles.push(&v.title);
        self.positions.push(position as i32);
        let options: serde_json::Map<String, serde_json::Value> = v
            .options
            .iter()
            .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
            .collect();
        self.options
            .push(serde_json::Value::Object(options).to_string());
        self.stocks.push(v.stock);
        self.attributes.push(v.attributes.as_str());
        self.hashes
            .push(v.content_hash(position).as_bytes().to_vec());
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
