//! What the sink sends to Medusa and reads back: a catalog product as a Medusa product (one
//! option, one variant, one exact price), and the parts of Medusa's answers the sink needs.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::store::OwedProduct;

/// The one option every product gets: Medusa requires an option even for a single variant.
pub const OPTION_TITLE: &str = "Default option";
const OPTION_VALUE: &str = "Default";

/// Most significant digits a price may have: Medusa reads amounts as JavaScript numbers,
/// which hold 15 digits exactly.
const MAX_PRICE_DIGITS: usize = 15;

/// A catalog handle as Medusa accepts it: Medusa allows no `--`, which the catalog uses before
/// the id suffix of a handle whose title another product holds (`lamp--17` becomes `lamp-17`).
pub fn handle(catalog: &str) -> String {
    let mut out = String::with_capacity(catalog.len());
    for c in catalog.chars() {
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The fields asked back from a batch: enough to link, nothing more.
pub const BATCH_FIELDS: &str = "id,external_id,handle,variants.id";

/// `POST /admin/products/batch`.
#[derive(Serialize, Default)]
pub struct Batch<'a> {
    pub create: Vec<NewProduct<'a>>,
    pub update: Vec<ProductUpdate<'a>>,
    pub delete: Vec<&'a str>,
}

#[derive(Serialize)]
pub struct Id<'a> {
    pub id: &'a str,
}

#[derive(Serialize)]
pub struct Image<'a> {
    url: &'a str,
}

#[derive(Serialize)]
pub struct ProductOption {
    title: &'static str,
    values: [&'static str; 1],
}

#[derive(Serialize)]
pub struct Price<'a> {
    currency_code: &'a str,
    /// The catalog's decimal text as a JSON number: never through a float on our side.
    amount: &'a RawValue,
}

#[derive(Serialize)]
pub struct NewVariant<'a> {
    title: &'static str,
    sku: Option<&'a str>,
    options: std::collections::BTreeMap<&'static str, &'static str>,
    prices: Vec<Price<'a>>,
    manage_inventory: bool,
}

#[derive(Serialize)]
pub struct VariantUpdate<'a> {
    id: &'a str,
    sku: Option<&'a str>,
    prices: Vec<Price<'a>>,
}

/// Everything of a catalog product Medusa has no field for.
#[derive(Serialize)]
pub struct Metadata<'a> {
    brand: Option<&'a str>,
    stock: Option<i64>,
    category: Option<&'a str>,
    source_updated_at: Option<String>,
    attributes: &'a RawValue,
}

/// The fields a product has whether it is created or updated.
#[derive(Serialize)]
pub struct Content<'a> {
    title: &'a str,
    description: &'a str,
    external_id: &'a str,
    status: &'static str,
    thumbnail: Option<&'a str>,
    images: Vec<Image<'a>>,
    categories: Vec<Id<'a>>,
    tags: Vec<Id<'a>>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
pub struct NewProduct<'a> {
    handle: String,
    #[serde(flatten)]
    content: Content<'a>,
    sales_channels: [Id<'a>; 1],
    options: [ProductOption; 1],
    variants: [NewVariant<'a>; 1],
}

#[derive(Serialize)]
pub struct ProductUpdate<'a> {
    id: &'a str,
    #[serde(flatten)]
    content: Content<'a>,
    /// Only the one variant the sink made, by id: Medusa replaces the variant list with what
    /// is sent, so sending none would leave the price stale and sending a new one would delete
    /// the old.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variants: Vec<VariantUpdate<'a>>,
}

/// The Medusa ids a product's push refers to.
pub struct Refs<'a> {
    pub category: Option<&'a str>,
    pub tags: Vec<&'a str>,
    pub currency: &'a str,
}

/// Why a product cannot be sent at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "price {0} has more than {MAX_PRICE_DIGITS} significant digits: Medusa would not keep it exactly"
    )]
    InexactPrice(String),
    #[error("stored attributes are not JSON: {0}")]
    Attributes(String),
}

/// `price` as Medusa's amount, refused when Medusa could not keep it exactly.
fn amount(price: &str) -> Result<Box<RawValue>, PayloadError> {
    let digits = price
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|b| *b == b'0')
        .count();
    // Trailing zeros of a fraction carry no value: 9.990 holds three significant digits.
    let trailing = if price.contains('.') {
        price.bytes().rev().take_while(|b| *b == b'0').count()
    } else {
        0
    };
    if digits.saturating_sub(trailing) > MAX_PRICE_DIGITS {
        return Err(PayloadError::InexactPrice(price.to_owned()));
    }
    RawValue::from_string(price.to_owned())
        .map_err(|_| PayloadError::InexactPrice(price.to_owned()))
}

fn prices<'a>(amount: Option<&'a RawValue>, currency: &'a str) -> Vec<Price<'a>> {
    amount
        .map(|amount| Price {
            currency_code: currency,
            amount,
        })
        .into_iter()
        .collect()
}

/// The raw JSON parts of a product, checked once: its attributes and its price.
pub struct Raw {
    pub attributes: Box<RawValue>,
    pub amount: Option<Box<RawValue>>,
}

impl Raw {
    /// Fails when the product cannot be sent to Medusa as it is.
    pub fn of(product: &OwedProduct) -> Result<Raw, PayloadError> {
        Ok(Raw {
            attributes: attributes(product)?,
            amount: product.price.as_deref().map(amount).transpose()?,
        })
    }
}

/// The attributes column as raw JSON.
fn attributes(product: &OwedProduct) -> Result<Box<RawValue>, PayloadError> {
    RawValue::from_string(product.attributes.clone())
        .map_err(|e| PayloadError::Attributes(e.to_string()))
}

fn content<'a>(
    product: &'a OwedProduct,
    status: &'static str,
    refs: &Refs<'a>,
    attributes: &'a RawValue,
) -> Content<'a> {
    Content {
        title: &product.title,
        description: &product.description,
        external_id: &product.external_id,
        status,
        thumbnail: product.thumbnail.as_deref(),
        images: product.images.iter().map(|url| Image { url }).collect(),
        categories: refs.category.map(|id| Id { id }).into_iter().collect(),
        tags: refs.tags.iter().map(|id| Id { id }).collect(),
        metadata: Metadata {
            brand: product.brand.as_deref(),
            stock: product.stock,
            category: product.category_slug.as_deref(),
            source_updated_at: product.source_updated_at.map(|t| t.to_rfc3339()),
            attributes,
        },
    }
}

/// A new, published Medusa product in `sales_channel`.
pub fn new_product<'a>(
    product: &'a OwedProduct,
    raw: &'a Raw,
    refs: &Refs<'a>,
    sales_channel: &'a str,
) -> NewProduct<'a> {
    NewProduct {
        handle: handle(&product.handle),
        content: content(product, "published", refs, &raw.attributes),
        sales_channels: [Id { id: sales_channel }],
        options: [ProductOption {
            title: OPTION_TITLE,
            values: [OPTION_VALUE],
        }],
        variants: [NewVariant {
            title: OPTION_VALUE,
            sku: product.sku.as_deref(),
            options: [(OPTION_TITLE, OPTION_VALUE)].into_iter().collect(),
            prices: prices(raw.amount.as_deref(), refs.currency),
            manage_inventory: false,
        }],
    }
}

/// The catalog's content for Medusa product `id` (and its variant, when known), at `status`.
pub fn product_update<'a>(
    product: &'a OwedProduct,
    raw: &'a Raw,
    target: (&'a str, Option<&'a str>),
    status: &'static str,
    refs: &Refs<'a>,
) -> ProductUpdate<'a> {
    let (id, variant) = target;
    ProductUpdate {
        id,
        content: content(product, status, refs, &raw.attributes),
        variants: variant
            .map(|id| VariantUpdate {
                id,
                sku: product.sku.as_deref(),
                prices: prices(raw.amount.as_deref(), refs.currency),
            })
            .into_iter()
            .collect(),
    }
}

/// A product in a batch answer.
#[derive(Deserialize, Debug)]
pub struct Answered {
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub variants: Vec<AnsweredVariant>,
}

#[derive(Deserialize, Debug)]
pub struct AnsweredVariant {
    pub id: String,
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

/// `POST /admin/product-categories`.
#[derive(Serialize)]
pub struct NewCategory<'a> {
    pub name: &'a str,
    pub handle: &'a str,
    pub is_active: bool,
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

#[derive(Serialize)]
pub struct NewTag<'a> {
    pub value: &'a str,
}

#[derive(Deserialize, Debug)]
pub struct CreatedTag {
    pub product_tag: Record,
}

#[derive(Deserialize, Debug)]
pub struct SalesChannel {
    pub sales_channel: Record,
}

/// A claimed product with every field set, for the sink's unit tests.
#[cfg(test)]
pub(crate) fn owed_product() -> OwedProduct {
    OwedProduct {
        id: 1,
        external_id: "17".into(),
        handle: "red-lipstick".into(),
        title: "Red Lipstick".into(),
        description: "Bold".into(),
        brand: Some("Chic".into()),
        sku: Some("BEA-17".into()),
        price: Some("9.99".into()),
        stock: Some(4),
        tags: vec!["beauty".into(), "lipstick".into()],
        images: vec!["https://cdn/1.png".into()],
        thumbnail: Some("https://cdn/t.png".into()),
        attributes: r#"{"rating":4.5}"#.into(),
        content_hash: vec![1; 16],
        source_updated_at: None,
        archived: false,
        category_id: Some(3),
        category_slug: Some("beauty".into()),
        category_name: Some("Beauty".into()),
        medusa_category_id: Some("pcat_1".into()),
        medusa_product_id: None,
        medusa_variant_id: None,
        pushed_status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owed(price: Option<&str>) -> OwedProduct {
        OwedProduct {
            price: price.map(Into::into),
            ..owed_product()
        }
    }

    fn refs() -> Refs<'static> {
        Refs {
            category: Some("pcat_1"),
            tags: vec!["ptag_1", "ptag_2"],
            currency: "eur",
        }
    }

    #[test]
    fn a_new_product_has_one_option_one_variant_and_the_exact_price() {
        let product = owed(Some("1234567.89"));
        let raw = Raw::of(&product).unwrap();
        let json = serde_json::to_value(new_product(&product, &raw, &refs(), "sc_1")).unwrap();
        assert_eq!(json["handle"], "red-lipstick");
        assert_eq!(json["external_id"], "17");
        assert_eq!(json["status"], "published");
        assert_eq!(json["sales_channels"][0]["id"], "sc_1");
        assert_eq!(json["categories"][0]["id"], "pcat_1");
        assert_eq!(json["tags"][1]["id"], "ptag_2");
        assert_eq!(json["options"][0]["title"], OPTION_TITLE);
        let variant = &json["variants"][0];
        assert_eq!(variant["sku"], "BEA-17");
        assert_eq!(variant["options"][OPTION_TITLE], "Default");
        assert_eq!(variant["manage_inventory"], false);
        assert_eq!(json["metadata"]["brand"], "Chic");
        assert_eq!(json["metadata"]["attributes"]["rating"], 4.5);
        // The amount goes out as the catalog wrote it.
        let text = serde_json::to_string(&new_product(&product, &raw, &refs(), "sc_1")).unwrap();
        assert!(text.contains(r#""amount":1234567.89"#), "{text}");
    }

    #[test]
    fn an_update_names_the_variant_and_never_adds_one() {
        let product = owed(None);
        let raw = Raw::of(&product).unwrap();
        let with = product_update(
            &product,
            &raw,
            ("prod_1", Some("variant_1")),
            "draft",
            &refs(),
        );
        let json = serde_json::to_value(&with).unwrap();
        assert_eq!(json["id"], "prod_1");
        assert_eq!(json["status"], "draft");
        assert_eq!(json["variants"][0]["id"], "variant_1");
        assert_eq!(json["variants"][0]["prices"], serde_json::json!([]));
        assert!(json.get("handle").is_none(), "the handle is never changed");
        let without = product_update(&product, &raw, ("prod_1", None), "published", &refs());
        assert!(
            serde_json::to_value(&without)
                .unwrap()
                .get("variants")
                .is_none()
        );
    }

    #[test]
    fn suffixed_handles_lose_their_double_dash() {
        assert_eq!(handle("lamp--17"), "lamp-17");
        assert_eq!(handle("red-lipstick"), "red-lipstick");
        assert_eq!(handle("a--b-1"), "a-b-1");
    }

    #[test]
    fn prices_medusa_cannot_keep_exactly_are_refused() {
        assert!(amount("9.99").is_ok());
        assert!(amount("123456789012.345").is_ok(), "15 digits");
        assert!(amount("0.000000000000001").is_ok());
        assert!(amount("12.5000000000000000000").is_ok(), "trailing zeros");
        assert!(matches!(
            amount("1234567890123.456"),
            Err(PayloadError::InexactPrice(p)) if p == "1234567890123.456"
        ));
        assert!(Raw::of(&owed(Some("1234567890123.456"))).is_err());
    }
}
