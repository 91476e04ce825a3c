//! What a written product is sold as: its categories, variants and prices, written after its
//! products row in the same transaction. Only what changed is written: a variant whose hash is
//! unchanged keeps its rows, and only the variants written get their prices written.

use std::collections::HashMap;

use sqlx::{Postgres, Transaction};

use super::super::{StoreError, sql};
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
        let c = CategoryRows::of(created, category_ids);
        sqlx::query(sql::INSERT_PRODUCT_CATEGORIES)
            .bind(&c.products)
            .bind(&c.categories)
            .bind(&c.positions)
            .execute(&mut **tx)
            .await?;
        let (v, by_key) = VariantRows::of(created);
        let inserted: Vec<Written> = v
            .bind(sqlx::query_as(sql::INSERT_VARIANTS))
            .fetch_all(&mut **tx)
            .await?;
        let p = PriceRows::of(&inserted, &by_key);
        p.bind(sqlx::query(sql::INSERT_VARIANT_PRICES))
            .execute(&mut **tx)
            .await?;
        counts.created += inserted.len() as u64;
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
    hashes: Vec<Vec<u8>>,
}

/// Each written variant by (product id, external id).
type ByKey<'a> = HashMap<(i64, &'a str), &'a Variant>;

impl<'a> VariantRows<'a> {
    fn of(written: &[(i64, &'a PreparedProduct)]) -> (Self, ByKey<'a>) {
        let mut rows = VariantRows::default();
        let mut by_key = HashMap::with_capacity(written.len());
        for (product_id, prepared) in written {
            for (position, variant) in prepared.product.variants.iter().enumerate() {
                rows.push(*product_id, position, variant);
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
