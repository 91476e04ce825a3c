//! What Medusa answers, as far as the sink reads it: the products a batch created or updated,
//! lookups by external id, the store's settings, categories and tags, and the owned fields of
//! every product for the drift check.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields asked back from a batch: enough to link the product and each variant.
pub const BATCH_FIELDS: &str =
    "id,external_id,handle,variants.id,variants.options.value,variants.options.option.title";

/// The fields of a product's options and variants read before they are changed.
pub const HELD_FIELDS: &str = "id,options.id,options.title,options.values.id,\
options.values.value,variants.id,variants.options.value,variants.options.option.title";

/// The fields asked back from a variants batch.
pub const VARIANT_FIELDS: &str = "id,options.value,options.option.title";

/// A product in a batch answer, or as read before its variants change.
#[derive(Deserialize, Debug, Default)]
pub struct Answered {
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub options: Vec<HeldOption>,
    #[serde(default)]
    pub variants: Vec<AnsweredVariant>,
}

#[derive(Deserialize, Debug)]
pub struct HeldOption {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub values: Vec<HeldValue>,
}

#[derive(Deserialize, Debug)]
pub struct HeldValue {
    pub id: String,
    pub value: String,
}

#[derive(Deserialize, Debug)]
pub struct AnsweredVariant {
    pub id: String,
    #[serde(default)]
    pub options: Vec<VariantValue>,
}

impl AnsweredVariant {
    /// Option title to value.
    pub fn option_map(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|o| Some((o.option.as_ref()?.title.clone(), o.value.clone())))
            .collect()
    }
}

/// One option value of a variant.
#[derive(Deserialize, Debug)]
pub struct VariantValue {
    pub value: String,
    #[serde(default)]
    pub option: Option<OptionTitle>,
}

#[derive(Deserialize, Debug)]
pub struct OptionTitle {
    pub title: String,
}

/// `POST /admin/products/{id}/variants/batch`.
#[derive(Deserialize, Debug)]
pub struct VariantsAnswer {
    #[serde(default)]
    pub created: Vec<AnsweredVariant>,
}

#[derive(Deserialize, Debug)]
pub struct BatchAnswer {
    #[serde(default)]
    pub created: Vec<Answered>,
    #[serde(default)]
    pub updated: Vec<Answered>,
    pub deleted: Option<Deleted>,
}

#[derive(Deserialize, Debug)]
pub struct Deleted {
    #[serde(default)]
    pub ids: Vec<String>,
}

/// `GET /admin/products`.
#[derive(Deserialize, Debug)]
pub struct ProductList {
    pub products: Vec<Answered>,
}

/// The fields the drift check reads of each Medusa product: the ones the sink owns.
pub const OWNED_FIELDS: &str = "id,external_id,handle,title,description,status,thumbnail,\
metadata,images.url,tags.value,categories.handle,options.title,options.values.value,\
variants.id,variants.title,variants.sku,variants.barcode,variants.options.value,\
variants.options.option.title,variants.prices.amount,variants.prices.currency_code";

/// A page of `GET /admin/products?fields=OWNED_FIELDS`.
#[derive(Deserialize, Debug)]
pub struct ListedPage {
    pub products: Vec<Listed>,
    pub count: u64,
}

/// A Medusa product as the drift check reads it.
#[derive(Deserialize, Debug, Default)]
pub struct Listed {
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub thumbnail: Option<String>,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub images: Vec<ListedImage>,
    #[serde(default)]
    pub tags: Vec<ListedTag>,
    #[serde(default)]
    pub categories: Vec<ListedCategory>,
    #[serde(default)]
    pub options: Vec<ListedOption>,
    #[serde(default)]
    pub variants: Vec<ListedVariant>,
}

#[derive(Deserialize, Debug)]
pub struct ListedOption {
    pub title: String,
    #[serde(default)]
    pub values: Vec<ListedValue>,
}

#[derive(Deserialize, Debug)]
pub struct ListedValue {
    pub value: String,
}

#[derive(Deserialize, Debug)]
pub struct ListedImage {
    pub url: String,
}

#[derive(Deserialize, Debug)]
pub struct ListedTag {
    pub value: String,
}

#[derive(Deserialize, Debug)]
pub struct ListedCategory {
    pub handle: String,
}

#[derive(Deserialize, Debug)]
pub struct ListedVariant {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub options: Vec<VariantValue>,
    #[serde(default)]
    pub prices: Vec<ListedPrice>,
}

impl ListedVariant {
    /// Option title to value.
    pub fn option_map(&self) -> BTreeMap<&str, &str> {
        self.options
            .iter()
            .filter_map(|o| Some((o.option.as_ref()?.title.as_str(), o.value.as_str())))
            .collect()
    }
}

#[derive(Deserialize, Debug)]
pub struct ListedPrice {
    pub currency_code: String,
    /// The amount's JSON text as Medusa wrote it (`19.5`), compared as a decimal.
    pub amount: Box<RawValue>,
}

/// `GET /admin/stores`.
#[derive(Deserialize, Debug)]
pub struct Stores {
    pub stores: Vec<StoreInfo>,
}

#[derive(Deserialize, Debug)]
pub struct StoreInfo {
    pub id: String,
    pub default_sales_channel_id: Option<String>,
    #[serde(default)]
    pub supported_currencies: Vec<SupportedCurrency>,
}

#[derive(Deserialize, Debug)]
pub struct SupportedCurrency {
    pub currency_code: String,
}

#[derive(Deserialize, Debug)]
pub struct Record {
    pub id: String,
}

/// `GET /admin/products`, `/admin/product-categories` or `/admin/product-tags` asked for ids
/// only.
#[derive(Deserialize, Debug)]
pub struct IdList {
    #[serde(
        alias = "products",
        alias = "product_categories",
        alias = "product_tags"
    )]
    pub records: Vec<Record>,
}

/// `GET /admin/product-categories`.
#[derive(Deserialize, Debug)]
pub struct Categories {
    pub product_categories: Vec<Category>,
}

#[derive(Deserialize, Debug)]
pub struct Category {
    pub id: String,
    pub handle: String,
}

#[derive(Deserialize, Debug)]
pub struct CreatedCategory {
    pub product_category: Record,
}

/// `GET /admin/product-tags`.
#[derive(Deserialize, Debug)]
pub struct Tags {
    pub product_tags: Vec<Tag>,
}

#[derive(Deserialize, Debug)]
pub struct Tag {
    pub id: String,
    pub value: String,
}

#[derive(Deserialize, Debug)]
pub struct CreatedTag {
    pub product_tag: Record,
}

#[derive(Deserialize, Debug)]
pub struct SalesChannel {
    pub sales_channel: Record,
}
