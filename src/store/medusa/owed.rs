//! Claimed products as the Medusa sink sends them: each is read back into a
//! [`domain::Product`](crate::domain::Product) (categories, options, live variants, prices),
//! with what Medusa already has of it (the product's link, each variant's link).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::super::{Store, StoreError, sql};
use crate::domain::{
    Attributes, Category, Currency, Price, PriceKind, Product, ProductOption, Variant, VariantPrice,
};

/// A claimed product, as the catalog holds it, with what Medusa already has of it.
#[derive(Clone, Debug)]
pub struct OwedProduct {
    /// The products row id.
    pub id: i64,
    pub product: Product,
    /// The catalog handle.
    pub handle: String,
    pub content_hash: Vec<u8>,
    pub archived: bool,
    /// Our category ids, one per `product.categories`.
    pub category_ids: Vec<i64>,
    /// One per `product.variants` (the live ones, in upstream order).
    pub variants: Vec<OwedVariant>,
    /// Archived variants Medusa still has: they are deleted there.
    pub retired: Vec<OwedVariant>,
    /// The Medusa product, once it was pushed.
    pub link: Option<ProductLink>,
}

/// What Medusa holds of a pushed product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductLink {
    pub medusa_product_id: String,
    /// The handle the product got at its first push, kept even after Medusa deleted it.
    pub medusa_handle: String,
    /// `published`, `draft` or `deleted`.
    pub pushed_status: String,
}

/// A variant of a claimed product, with the Medusa variant it became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwedVariant {
    /// The product_variants row id.
    pub id: i64,
    /// Its content hash; empty for a variant written before variants had hashes.
    pub content_hash: Vec<u8>,
    pub medusa_id: Option<String>,
    /// The hash Medusa last got; `None`: Medusa's copy is to be checked and rewritten.
    pub pushed_hash: Option<Vec<u8>>,
}

impl OwedVariant {
    /// Whether Medusa has this variant as the catalog holds it.
    pub fn in_sync(&self) -> bool {
        self.medusa_id.is_some() && self.pushed_hash.as_ref() == Some(&self.content_hash)
    }
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    external_id: String,
    handle: String,
    title: String,
    description: String,
    brand: Option<String>,
    tags: Vec<String>,
    images: Vec<String>,
    thumbnail: Option<String>,
    attributes: String,
    options: String,
    content_hash: Vec<u8>,
    source_updated_at: Option<DateTime<Utc>>,
    archived: bool,
    medusa_product_id: Option<String>,
    medusa_handle: Option<String>,
    pushed_status: Option<String>,
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    id: i64,
    product_id: i64,
    external_id: String,
    sku: Option<String>,
    barcode: Option<String>,
    title: String,
    options: String,
    stock: Option<i64>,
    attributes: String,
    content_hash: Option<Vec<u8>>,
    archived: bool,
    medusa_variant_id: Option<String>,
    pushed_hash: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct PriceRow {
    variant_id: i64,
    currency: String,
    kind: String,
    amount: String,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

/// The stored JSON of a row could not be read back: the database was changed by hand.
fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} of row {id}: {e}"))
}

impl Store {
    /// The products `ids` as the catalog holds them, with their Medusa links; ids without a
    /// row are left out.
    pub async fn load_medusa_owed(&self, ids: &[i64]) -> Result<Vec<OwedProduct>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<ProductRow> = sqlx::query_as(sql::MEDUSA_LOAD)
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
        let categories: Vec<(i64, i64, String, String)> =
            sqlx::query_as(sql::MEDUSA_LOAD_CATEGORIES)
                .bind(ids)
                .fetch_all(&mut *conn)
                .await?;
        let variants: Vec<VariantRow> = sqlx::query_as(sql::MEDUSA_LOAD_VARIANTS)
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
        let prices: Vec<PriceRow> = sqlx::query_as(sql::MEDUSA_LOAD_PRICES)
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
        drop(conn);

        let mut prices_of: HashMap<i64, Vec<VariantPrice>> = HashMap::new();
        for p in prices {
            let price = VariantPrice {
                currency: Currency::parse(&p.currency)
                    .map_err(|e| corrupt("variant_prices.currency", p.variant_id, e))?,
                kind: PriceKind::parse(&p.kind)
                    .ok_or_else(|| corrupt("variant_prices.kind", p.variant_id, &p.kind))?,
                amount: Price::parse(&p.amount)
                    .map_err(|e| corrupt("variant_prices.amount", p.variant_id, e))?,
                starts_at: p.starts_at,
                ends_at: p.ends_at,
            };
            prices_of.entry(p.variant_id).or_default().push(price);
        }
        let mut categories_of: HashMap<i64, Vec<(i64, Category)>> = HashMap::new();
        for (product_id, id, slug, name) in categories {
            let category = Category {
                slug,
                name: Some(name),
            };
            categories_of
                .entry(product_id)
                .or_default()
                .push((id, category));
        }
        let mut variants_of: HashMap<i64, Vec<VariantRow>> = HashMap::new();
        for v in variants {
            variants_of.entry(v.product_id).or_default().push(v);
        }

        let mut owed = Vec::with_capacity(rows.len());
        for row in rows {
            let options: Vec<(String, Vec<String>)> =
                serde_json::from_str::<Vec<StoredOption>>(&row.options)
                    .map_err(|e| corrupt("products.options", row.id, e))?
                    .into_iter()
                    .map(|o| (o.name, o.values))
                    .collect();
            let order: Vec<&str> = options.iter().map(|(name, _)| name.as_str()).collect();
            let (mut live, mut retired) = (Vec::new(), Vec::new());
            let mut sold = Vec::new();
            for v in variants_of.remove(&row.id).unwrap_or_default() {
                let link = OwedVariant {
                    id: v.id,
                    content_hash: v.content_hash.clone().unwrap_or_default(),
                    medusa_id: v.medusa_variant_id.clone(),
                    pushed_hash: v.pushed_hash.clone(),
                };
                if v.archived {
                    retired.push(link);
                    continue;
                }
                live.push(link);
                let prices = prices_of.remove(&v.id);
                sold.push(variant(v, &order, prices)?);
            }
            let (category_ids, categories) = categories_of
                .remove(&row.id)
                .unwrap_or_default()
                .into_iter()
                .unzip();
            // The source's currency is not stored: the first base price's stands for it. The
            // sink sends the prices of every currency and never reads `Product::price`.
            let currency = sold
                .iter()
                .flat_map(|v: &Variant| v.prices.iter())
                .find(|p| p.kind == PriceKind::Base)
                .map(|p| p.currency)
                .unwrap_or_default();
            let product = Product {
                external_id: row.external_id,
                title: row.title,
                description: row.description,
                categories,
                brand: row.brand,
                tags: row.tags,
                images: row.images,
                thumbnail: row.thumbnail,
                attributes: Attributes::from_stored(&row.attributes)
                    .map_err(|e| corrupt("products.attributes", row.id, e))?,
                source_updated_at: row.source_updated_at,
                options: options
                    .into_iter()
                    .map(|(name, values)| ProductOption { name, values })
                    .collect(),
                variants: sold,
                currency,
            };
            let link = match (row.medusa_product_id, row.medusa_handle, row.pushed_status) {
                (Some(medusa_product_id), Some(medusa_handle), Some(pushed_status)) => {
                    Some(ProductLink {
                        medusa_product_id,
                        medusa_handle,
                        pushed_status,
                    })
                }
                _ => None,
            };
            owed.push(OwedProduct {
                id: row.id,
                product,
                handle: row.handle,
                content_hash: row.content_hash,
                archived: row.archived,
                category_ids,
                variants: live,
                retired,
                link,
            });
        }
        Ok(owed)
    }
}

#[derive(serde::Deserialize)]
struct StoredOption {
    name: String,
    #[serde(default)]
    values: Vec<String>,
}

/// A stored variant, its options in the order of the product's (`order`).
fn variant(
    row: VariantRow,
    order: &[&str],
    prices: Option<Vec<VariantPrice>>,
) -> Result<Variant, StoreError> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&row.options)
        .map_err(|e| corrupt("product_variants.options", row.id, e))?;
    let mut options: Vec<(String, String)> = map
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (name, value)
        })
        .collect();
    options.sort_by_key(|(name, _)| order.iter().position(|o| o == name).unwrap_or(order.len()));
    Ok(Variant {
        external_id: row.external_id,
        title: row.title,
        sku: row.sku,
        barcode: row.barcode,
        options,
        stock: row.stock,
        prices: prices.unwrap_or_default(),
        attributes: Attributes::from_stored(&row.attributes)
            .map_err(|e| corrupt("product_variants.attributes", row.id, e))?,
    })
}
