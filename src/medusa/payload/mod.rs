//! What the sink sends to Medusa: a catalog product as a Medusa product (its options, its
//! variants with their exact prices, a handle Medusa accepts), categories and tags. The
//! variants' own requests are in `variant.rs`; what Medusa answers is in `answers.rs`.

pub mod variant;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::value::RawValue;

use super::shape::Shape;
use crate::domain::PriceKind;
use crate::store::OwedProduct;

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
pub fn handle_of(owed: &OwedProduct) -> String {
    owed.link
        .as_ref()
        .map(|l| l.medusa_handle.clone())
        .unwrap_or_else(|| handle(&owed.handle))
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
pub struct NewOption<'a> {
    pub title: &'a str,
    pub values: &'a [String],
}

#[derive(Serialize)]
pub struct Price<'a> {
    pub currency_code: &'a str,
    /// The catalog's decimal text as a JSON number: never through a float on our side.
    pub amount: &'a RawValue,
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
    options: Vec<NewOption<'a>>,
    variants: Vec<variant::NewVariant<'a>>,
}

/// A product's own fields. Its options and variants are not sent here: Medusa would replace
/// the variant list with what is sent; they have requests of their own (`variants.rs`).
#[derive(Serialize)]
pub struct ProductUpdate<'a> {
    id: &'a str,
    #[serde(flatten)]
    content: Content<'a>,
}

/// The Medusa ids a product's push refers to.
pub struct Refs<'a> {
    pub categories: Vec<&'a str>,
    pub tags: Vec<&'a str>,
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

/// The currencies the Medusa store has prices in.
#[derive(Debug, Default)]
pub struct Currencies {
    pub supported: BTreeSet<String>,
}

/// Prices left out because the store lacks their currency: how many, by currency.
pub type Skipped = BTreeMap<String, u64>;

/// The parts of a product worked out once per push: its raw attributes, its Medusa handle, its
/// options and variants as Medusa gets them, and each variant's prices (checked) and metadata.
pub struct Raw {
    pub attributes: Box<RawValue>,
    pub handle: String,
    pub shape: Shape,
    /// One per live variant.
    pub variants: Vec<RawVariant>,
}

pub struct RawVariant {
    /// Base prices in the currencies the store supports.
    pub prices: Vec<(String, Box<RawValue>)>,
    /// Stock, compare-at and sale prices, and the variant's other fields.
    pub metadata: serde_json::Value,
}

impl Raw {
    /// Fails when the product cannot be sent to Medusa as it is. Base prices in currencies
    /// the store lacks are left out and counted in `skipped`.
    pub fn of(
        owed: &OwedProduct,
        currencies: &Currencies,
        skipped: &mut Skipped,
    ) -> Result<Raw, PayloadError> {
        let product = &owed.product;
        let mut variants = Vec::with_capacity(product.variants.len());
        for v in &product.variants {
            let mut prices = Vec::new();
            let mut metadata = serde_json::Map::new();
            metadata.insert("stock".into(), v.stock.into());
            let (mut compare_at, mut sale) = (serde_json::Map::new(), serde_json::Map::new());
            for p in &v.prices {
                let currency = p.currency.as_str();
                match p.kind {
                    PriceKind::Base if currencies.supported.contains(currency) => {
                        prices.push((currency.to_owned(), amount(p.amount.as_str())?));
                    }
                    PriceKind::Base => *skipped.entry(currency.to_owned()).or_default() += 1,
                    PriceKind::CompareAt => {
                        compare_at.insert(currency.to_owned(), p.amount.as_str().into());
                    }
                    PriceKind::Sale => {
                        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                            t.map_or(serde_json::Value::Null, |t| t.to_rfc3339().into())
                        };
                        sale.insert(
                            currency.to_owned(),
                            serde_json::json!({
                                "amount": p.amount.as_str(),
                                "starts_at": when(p.starts_at),
                                "ends_at": when(p.ends_at),
                            }),
                        );
                    }
                }
            }
            metadata.insert("compare_at_prices".into(), compare_at.into());
            metadata.insert("sale_prices".into(), sale.into());
            let attributes: serde_json::Value = serde_json::from_str(v.attributes.as_str())
                .map_err(|e| PayloadError::Attributes(e.to_string()))?;
            metadata.insert("attributes".into(), attributes);
            variants.push(RawVariant {
                prices,
                metadata: metadata.into(),
            });
        }
        Ok(Raw {
            attributes: RawValue::from_string(product.attributes.as_str().to_owned())
                .map_err(|e| PayloadError::Attributes(e.to_string()))?,
            handle: handle_of(owed),
            shape: Shape::of(product),
            variants,
        })
    }

    /// The prices of live variant `index`, as Medusa takes them.
    pub fn prices(&self, index: usize) -> Vec<Price<'_>> {
        self.variants[index]
            .prices
            .iter()
            .map(|(currency, amount)| Price {
                currency_code: currency,
                amount,
            })
            .collect()
    }
}

fn content<'a>(
    owed: &'a OwedProduct,
    raw: &'a Raw,
    status: &'static str,
    refs: &Refs<'a>,
) -> Content<'a> {
    let product = &owed.product;
    Content {
        handle: &raw.handle,
        title: &product.title,
        description: &product.description,
        external_id: &product.external_id,
        status,
        thumbnail: product.thumbnail.as_deref(),
        images: product.images.iter().map(|url| Image { url }).collect(),
        categories: refs.categories.iter().map(|id| Id { id }).collect(),
        tags: refs.tags.iter().map(|id| Id { id }).collect(),
        metadata: Metadata {
            brand: product.brand.as_deref(),
            stock: product.stock(),
            category: product.category(),
            source_updated_at: product.source_updated_at.map(|t| t.to_rfc3339()),
            attributes: &raw.attributes,
        },
    }
}

/// A new, published Medusa product in `sales_channel`, with its options and variants.
pub fn new_product<'a>(
    owed: &'a OwedProduct,
    raw: &'a Raw,
    refs: &Refs<'a>,
    sales_channel: &'a str,
) -> NewProduct<'a> {
    NewProduct {
        content: content(owed, raw, "published", refs),
        sales_channels: [Id { id: sales_channel }],
        options: raw
            .shape
            .options
            .iter()
            .map(|(title, values)| NewOption { title, values })
            .collect(),
        variants: (0..owed.product.variants.len())
            .map(|i| variant::new_variant(owed, raw, i))
            .collect(),
    }
}

/// The catalog's content for Medusa product `id`, at `status`.
pub fn product_update<'a>(
    owed: &'a OwedProduct,
    raw: &'a Raw,
    id: &'a str,
    status: &'static str,
    refs: &Refs<'a>,
) -> ProductUpdate<'a> {
    ProductUpdate {
        id,
        content: content(owed, raw, status, refs),
    }
}

/// What the catalog writes into a product's `metadata`, as JSON: the keys the sink owns there
/// (Medusa merges metadata, so other keys are someone else's).
pub fn owned_metadata(owed: &OwedProduct, raw: &Raw) -> serde_json::Value {
    let refs = Refs {
        categories: Vec::new(),
        tags: Vec::new(),
    };
    serde_json::to_value(content(owed, raw, "", &refs).metadata).unwrap_or_default()
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

#[cfg(test)]
pub(crate) mod tests;
