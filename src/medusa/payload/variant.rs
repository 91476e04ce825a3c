//! A product's variants as Medusa takes them: whole, in a new product or in the variants
//! batch's `create`; their own fields in its `update`; their prices in an `update` of their
//! own (a refused batch leaves the variants it updated without prices, so prices never share
//! a batch with anything Medusa could refuse).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Price, Raw};
use crate::store::OwedProduct;

/// A variant in full.
#[derive(Serialize)]
pub struct NewVariant<'a> {
    title: &'a str,
    sku: Option<&'a str>,
    barcode: Option<&'a str>,
    options: &'a BTreeMap<String, String>,
    prices: Vec<Price<'a>>,
    manage_inventory: bool,
    metadata: &'a serde_json::Value,
}

/// A known variant's own fields: everything but its prices.
#[derive(Serialize)]
pub struct VariantUpdate<'a> {
    id: &'a str,
    title: &'a str,
    sku: Option<&'a str>,
    barcode: Option<&'a str>,
    options: &'a BTreeMap<String, String>,
    metadata: &'a serde_json::Value,
}

/// A known variant's full price list: Medusa replaces the variant's prices with it.
#[derive(Serialize)]
pub struct PriceUpdate<'a> {
    id: &'a str,
    prices: Vec<Price<'a>>,
}

/// `POST /admin/products/{id}/variants/batch`.
#[derive(Serialize, Default)]
pub struct VariantsBatch<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<NewVariant<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub update: Vec<Update<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum Update<'a> {
    Fields(VariantUpdate<'a>),
    Prices(PriceUpdate<'a>),
}

impl VariantsBatch<'_> {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Live variant `index` of `owed` in full.
pub fn new_variant<'a>(owed: &'a OwedProduct, raw: &'a Raw, index: usize) -> NewVariant<'a> {
    let v = &owed.product.variants[index];
    let shape = &raw.shape.variants[index];
    NewVariant {
        title: &shape.title,
        sku: v.sku.as_deref(),
        barcode: v.barcode.as_deref(),
        options: &shape.options,
        prices: raw.prices(index),
        manage_inventory: false,
        metadata: &raw.variants[index].metadata,
    }
}

/// Live variant `index` of `owed`, Medusa variant `id`: its own fields.
pub fn variant_update<'a>(
    owed: &'a OwedProduct,
    raw: &'a Raw,
    index: usize,
    id: &'a str,
) -> Update<'a> {
    let v = &owed.product.variants[index];
    let shape = &raw.shape.variants[index];
    Update::Fields(VariantUpdate {
        id,
        title: &shape.title,
        sku: v.sku.as_deref(),
        barcode: v.barcode.as_deref(),
        options: &shape.options,
        metadata: &raw.variants[index].metadata,
    })
}

/// Live variant `index`, Medusa variant `id`: its full price list.
pub fn price_update<'a>(raw: &'a Raw, index: usize, id: &'a str) -> Update<'a> {
    Update::Prices(PriceUpdate {
        id,
        prices: raw.prices(index),
    })
}

/// `POST /admin/products/{id}/options/batch`: options made (`add`) or let go of (`remove`),
/// and values added to or removed from the product's options (`update`).
#[derive(Serialize, Default)]
pub struct OptionsBatch<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<OptionAdd<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub update: Vec<OptionValues<'a>>,
}

#[derive(Serialize)]
pub struct OptionAdd<'a> {
    pub title: &'a str,
    pub values: &'a [String],
    /// The product's own option, not one shared across the store.
    pub is_exclusive: bool,
}

#[derive(Serialize)]
pub struct OptionValues<'a> {
    pub product_option_id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<NewValue<'a>>,
    /// Value ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<&'a str>,
}

#[derive(Serialize)]
pub struct NewValue<'a> {
    pub value: &'a str,
}
