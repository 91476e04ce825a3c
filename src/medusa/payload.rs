//! What the sink sends to Medusa: a catalog product as a Medusa product (one option, one
//! variant, one exact price, a handle Medusa accepts), categories and tags. What Medusa
//! answers is in `answers.rs`.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::store::OwedProduct;

/// The one option every product gets: Medusa requires an option even for a single variant.
pub const OPTION_TITLE: &str = "Default option";
const OPTION_VALUE: &str = "Default";

/// Most significant digits a price may have: Medusa reads amounts as JavaScript numbers,
/// which hold 15 digits exactly.
const MAX_PRICE_DIGITS: usize = 15;

/// The segment that stands for the empty one between the two dashes of a catalog handle's
/// `--` (Medusa allows no `--`): `lamp--17` becomes `lamp-id-17`, "lamp, id 17".
const SEPARATOR_SEGMENT: &str = "id";

/// A catalog handle as Medusa accepts it, one to one: the catalog puts `--` before the id
/// suffix of a handle whose title another product holds, which Medusa refuses. Each empty
/// segment (between the dashes of `--`) becomes `id`, and a segment that is `id` repeated gets
/// one `id` more, so the rendering can be read back and two catalog handles never meet in
/// Medusa: `lamp--17` is `lamp-id-17`, `lamp-17` stays `lamp-17`, `id-card` is `idid-card`.
/// Plain slugs without an `id` segment (nearly all) are unchanged.
///
/// A product keeps the handle it got at its first push (`medusa_links.medusa_handle`): this
/// rendering only names products Medusa never had.
pub fn handle(catalog: &str) -> String {
    let segments: Vec<String> = catalog
        .split('-')
        .map(|segment| {
            let repeats = segment.len() / SEPARATOR_SEGMENT.len();
            if segment.is_empty() {
                SEPARATOR_SEGMENT.to_owned()
            } else if repeats > 0 && segment == SEPARATOR_SEGMENT.repeat(repeats) {
                format!("{segment}{SEPARATOR_SEGMENT}")
            } else {
                segment.to_owned()
            }
        })
        .collect();
    segments.join("-")
}

/// The handle a product has in Medusa: the one it got at its first push, else its catalog
/// handle rendered for Medusa.
pub fn handle_of(product: &OwedProduct) -> String {
    product
        .medusa_handle
        .clone()
        .unwrap_or_else(|| handle(&product.handle))
}

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

/// The one variant an update sends: ours by id, or, when Medusa has lost it (deleted in the
/// admin), a new one in its place.
#[derive(Serialize)]
#[serde(untagged)]
pub enum VariantChange<'a> {
    Known(VariantUpdate<'a>),
    New(NewVariant<'a>),
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
    /// Sent with updates too: an edit in the Medusa admin is corrected.
    handle: &'a str,
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
    /// The one variant the sink made, by id: Medusa replaces the variant list with what is
    /// sent, so variants added in the admin go, and a variant deleted there comes back as a
    /// new one (sending none would leave the price stale).
    variants: [VariantChange<'a>; 1],
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

/// The parts of a product worked out once per push: its raw attributes and price (checked),
/// and its Medusa handle.
pub struct Raw {
    pub attributes: Box<RawValue>,
    pub amount: Option<Box<RawValue>>,
    pub handle: String,
}

impl Raw {
    /// Fails when the product cannot be sent to Medusa as it is.
    pub fn of(product: &OwedProduct) -> Result<Raw, PayloadError> {
        Ok(Raw {
            attributes: attributes(product)?,
            amount: product.price.as_deref().map(amount).transpose()?,
            handle: handle_of(product),
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
    raw: &'a Raw,
    status: &'static str,
    refs: &Refs<'a>,
) -> Content<'a> {
    Content {
        handle: &raw.handle,
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
            attributes: &raw.attributes,
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
        content: content(product, raw, "published", refs),
        sales_channels: [Id { id: sales_channel }],
        options: [ProductOption {
            title: OPTION_TITLE,
            values: [OPTION_VALUE],
        }],
        variants: [new_variant(product, raw, refs)],
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
    let variant = match variant {
        Some(id) => VariantChange::Known(VariantUpdate {
            id,
            sku: product.sku.as_deref(),
            prices: prices(raw.amount.as_deref(), refs.currency),
        }),
        None => VariantChange::New(new_variant(product, raw, refs)),
    };
    ProductUpdate {
        id,
        content: content(product, raw, status, refs),
        variants: [variant],
    }
}

fn new_variant<'a>(product: &'a OwedProduct, raw: &'a Raw, refs: &Refs<'a>) -> NewVariant<'a> {
    NewVariant {
        title: OPTION_VALUE,
        sku: product.sku.as_deref(),
        options: [(OPTION_TITLE, OPTION_VALUE)].into_iter().collect(),
        prices: prices(raw.amount.as_deref(), refs.currency),
        manage_inventory: false,
    }
}

/// What the catalog writes into a product's `metadata`, as JSON: the keys the sink owns there
/// (Medusa merges metadata, so other keys are someone else's).
pub fn owned_metadata(product: &OwedProduct, raw: &Raw) -> serde_json::Value {
    let refs = Refs {
        category: None,
        tags: Vec::new(),
        currency: "",
    };
    serde_json::to_value(content(product, raw, "", &refs).metadata).unwrap_or_default()
}

/// `POST /admin/product-categories`.
#[derive(Serialize)]
pub struct NewCategory<'a> {
    pub name: &'a str,
    pub handle: &'a str,
    pub is_active: bool,
}

#[derive(Serialize)]
pub struct NewTag<'a> {
    pub value: &'a str,
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
        medusa_product_id: None,
        medusa_variant_id: None,
        medusa_handle: None,
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
    fn an_update_sends_our_one_variant_by_id_or_anew() {
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
        assert_eq!(
            json["handle"], "red-lipstick",
            "an edit in Medusa is undone"
        );
        let without = product_update(&product, &raw, ("prod_1", None), "published", &refs());
        let json = serde_json::to_value(&without).unwrap();
        assert_eq!(json["variants"].as_array().unwrap().len(), 1);
        assert!(json["variants"][0].get("id").is_none(), "a new one: {json}");
        assert_eq!(json["variants"][0]["options"][OPTION_TITLE], "Default");
    }

    #[test]
    fn suffixed_handles_read_id_where_the_catalog_has_a_double_dash() {
        assert_eq!(handle("lamp--17"), "lamp-id-17");
        assert_eq!(handle("lamp-17"), "lamp-17", "a plain slug is unchanged");
        assert_eq!(handle("red-lipstick"), "red-lipstick");
        assert_eq!(handle("café-crème--a-b"), "café-crème-id-a-b");
        assert_eq!(handle("id-card"), "idid-card");
        assert_eq!(handle("lamp-id-17"), "lamp-idid-17");
        assert_eq!(handle("lamp--id"), "lamp-id-idid");
        assert_eq!(handle("video-idea"), "video-idea", "only whole segments");
    }

    #[test]
    fn a_product_keeps_the_handle_of_its_first_push() {
        let legacy = OwedProduct {
            handle: "lamp--17".into(),
            medusa_handle: Some("lamp-17".into()),
            ..owed_product()
        };
        assert_eq!(handle_of(&legacy), "lamp-17");
        let new = OwedProduct {
            medusa_handle: None,
            ..legacy
        };
        assert_eq!(handle_of(&new), "lamp-id-17");
    }

    /// Reads a rendering back: what makes it one to one.
    fn catalog_handle(medusa: &str) -> String {
        medusa
            .split('-')
            .map(|segment| {
                let repeats = segment.len() / SEPARATOR_SEGMENT.len();
                if repeats > 0 && segment == SEPARATOR_SEGMENT.repeat(repeats) {
                    SEPARATOR_SEGMENT.repeat(repeats - 1)
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("-")
    }

    proptest::proptest! {
        #[test]
        fn distinct_catalog_handles_stay_distinct_in_medusa(
            a in "[a-zé0-9]{1,8}(-[a-zé0-9]{1,8}|-id|-idid){0,4}",
            b in "[a-zé0-9]{1,8}(-[a-zé0-9]{1,8}|-id){0,3}",
            id in "[a-z0-9]{1,6}(-[a-z0-9]{1,4}|-id){0,2}",
        ) {
            let suffixed = crate::domain::suffixed_handle(&a, &id);
            for catalog in [a.as_str(), b.as_str(), suffixed.as_str()] {
                let medusa = handle(catalog);
                proptest::prop_assert_eq!(catalog_handle(&medusa), catalog);
                proptest::prop_assert!(!medusa.contains("--") && !medusa.starts_with('-') && !medusa.ends_with('-'));
            }
            proptest::prop_assert_ne!(handle(&suffixed), handle(&b));
            if a != b {
                proptest::prop_assert_ne!(handle(&a), handle(&b));
            }
        }
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
