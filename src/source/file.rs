//! The source file as written: serde shapes of the TOML keys fixed in the README ("Connect your
//! upstream"), strict about unknown keys so a typo is an error rather than a silent default.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Applied before these shapes are read; here so `deny_unknown_fields` accepts the key.
    #[serde(rename = "preset")]
    pub _preset: Option<String>,
    /// Filled into `{base_url}` before these shapes are read.
    #[serde(rename = "base_url")]
    pub _base_url: Option<String>,
    pub currency: Option<String>,
    pub list: Option<List>,
    pub item: Option<Item>,
    pub changes: Option<Changes>,
    pub fields: Option<Fields>,
    pub auth: Option<Auth>,
    pub rate_limit: Option<RateLimit>,
    pub events: Option<Events>,
    pub variants: Option<Variants>,
    pub options: Option<Options>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variants {
    pub records: Option<String>,
    pub url: Option<String>,
    pub page_size: Option<u32>,
    pub limit_param: Option<String>,
    pub page_param: Option<String>,
    pub external_id: Option<String>,
    pub title: Option<String>,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub stock: Option<String>,
    pub options: Option<Vec<String>>,
    pub option_list: Option<String>,
    pub option_name: Option<String>,
    pub option_value: Option<String>,
    pub attributes: Option<Vec<String>>,
    #[serde(default)]
    pub prices: Vec<VariantPrice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantPrice {
    pub amount: Option<String>,
    pub kind: Option<String>,
    pub currency: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub records: Option<String>,
    pub name: Option<String>,
    pub values: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    pub url: Option<String>,
    pub records: Option<String>,
    pub page_size: Option<u32>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub id_query: BTreeMap<String, String>,
    pub paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    pub style: Option<String>,
    pub limit_param: Option<String>,
    pub offset_param: Option<String>,
    pub page_param: Option<String>,
    pub first_page: Option<u64>,
    pub total: Option<String>,
    pub cursor: Option<String>,
    pub cursor_param: Option<String>,
    pub next_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub url: Option<String>,
    pub record: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    pub param: Option<String>,
    pub format: Option<String>,
    pub overlap: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    pub external_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub price: Option<String>,
    pub stock: Option<String>,
    pub category: Option<String>,
    pub category_name: Option<String>,
    pub brand: Option<String>,
    pub sku: Option<String>,
    pub images: Option<String>,
    pub thumbnail: Option<String>,
    pub tags: Option<String>,
    pub updated_at: Option<String>,
    pub attributes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub token_env: Option<String>,
    pub header: Option<String>,
    pub value_env: Option<String>,
    pub user_env: Option<String>,
    pub password_env: Option<String>,
    // Secrets themselves: read only to refuse them with a clear error.
    pub token: Option<toml::Value>,
    pub value: Option<toml::Value>,
    pub user: Option<toml::Value>,
    pub password: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    #[serde(default)]
    pub may_omit: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests: Option<u32>,
    pub per: Option<String>,
}
