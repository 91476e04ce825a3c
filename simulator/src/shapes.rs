//! The same product in other APIs' shapes: WooCommerce REST v3 and Shopify Admin REST,
//! mapped from its DummyJSON fields (overrides and changes included), so every shape serves
//! the same catalog. Prices are strings of the exact text DummyJSON serves (`12.5` →
//! `"12.5"`); nested objects (categories, tags, images, variants) get stable ids. A product
//! sold in variants is a variable WooCommerce product and lists them as Shopify variants
//! (`variant_shapes`).

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::clock::{now_ms, shopify_time, woo_time};
use super::overrides::RawObject;
use super::parts::splitmix64;
use super::variant_shapes::{
    ShopifyOption, ShopifyVariant, ShopifyVariants, WooAttribute, lowest_price, woo_attributes,
};
use super::variants::Variant;

/// Where WooCommerce permalinks point.
const SHOP: &str = "https://shop.example/product";

/// What the shapes need of a DummyJSON product, read leniently: a field of an unexpected
/// type (an override) reads as its JSON text, a missing one as empty.
pub(crate) struct Source<'a> {
    pub id: u64,
    pub fields: &'a RawObject,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// The variants it lists; none when it is sold one way.
    pub variants: &'a [Variant],
}

impl Source<'_> {
    fn raw(&self, name: &str) -> Option<&RawValue> {
        self.fields.get(name).filter(|raw| raw.get() != "null")
    }

    /// A string field's content, another value's JSON text, or "".
    fn text(&self, name: &str) -> String {
        self.raw(name).map(text_of).unwrap_or_default()
    }

    /// The strings of an array field.
    fn strings(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .and_then(|raw| serde_json::from_str::<Vec<Value>>(raw.get()).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// A number field as JSON (`null` if missing or not a number).
    fn number(&self, name: &str) -> Value {
        self.raw(name)
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .filter(Value::is_number)
            .unwrap_or(Value::Null)
    }

    /// A field of a nested object (`dimensions.width`) as text.
    fn nested(&self, name: &str, key: &str) -> String {
        self.raw(name)
            .and_then(|raw| serde_json::from_str::<RawObject>(raw.get()).ok())
            .and_then(|object| object.get(key).map(text_of))
            .unwrap_or_default()
    }

    fn brand(&self) -> Option<String> {
        Some(self.text("brand")).filter(|b| !b.is_empty())
    }

    fn handle(&self) -> String {
        slugify(&self.text("title"))
    }

    fn image_id(&self, index: usize) -> u64 {
        self.id.wrapping_mul(100).wrapping_add(index as u64 + 1)
    }
}

/// A string's content, or any other value's JSON text (`12.5` → `12.5`).
pub(crate) fn text_of(raw: &RawValue) -> String {
    serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned())
}

/// Lower case, runs of anything but letters and digits as one `-` (`Face Powder` → `face-powder`).
pub(crate) fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// A category slug as DummyJSON names it: `mens-shirts` → `Mens Shirts`.
pub(crate) fn display_name(slug: &str) -> String {
    slug.split(['-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A stable id for a named thing (category, tag, brand): the same name, the same id.
fn term_id(kind: u64, name: &str) -> u64 {
    let hash = name
        .bytes()
        .fold(splitmix64(kind), |h, b| splitmix64(h ^ u64::from(b)));
    1 + hash % 1_000_000
}

#[derive(Serialize)]
struct Term {
    id: u64,
    name: String,
    slug: String,
}

impl Term {
    fn new(kind: u64, name: String, slug: String) -> Term {
        Term {
            id: term_id(kind, &slug),
            name,
            slug,
        }
    }
}

#[derive(Serialize)]
struct WooImage {
    id: u64,
    src: String,
    name: &'static str,
    alt: &'static str,
}

#[derive(Serialize)]
struct WooDimensions {
    length: String,
    width: String,
    height: String,
}

/// A WooCommerce REST v3 product.
#[derive(Serialize)]
pub(crate) struct WooProduct {
    id: u64,
    name: String,
    slug: String,
    permalink: String,
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    description: String,
    short_description: &'static str,
    sku: String,
    price: String,
    regular_price: String,
    sale_price: &'static str,
    stock_quantity: Value,
    stock_status: &'static str,
    categories: Vec<Term>,
    tags: Vec<Term>,
    images: Vec<WooImage>,
    brands: Vec<Term>,
    weight: String,
    dimensions: WooDimensions,
    /// A variable product's variation attributes (empty for a simple product, as WooCommerce
    /// serves it).
    attributes: Vec<WooAttribute>,
    /// A variable product's variation ids (empty for a simple product).
    variations: Vec<u64>,
    date_created_gmt: String,
    date_modified_gmt: String,
    meta_data: Vec<Value>,
}

impl WooProduct {
    pub(crate) fn new(p: &Source<'_>) -> WooProduct {
        let slug = p.handle();
        let variable = !p.variants.is_empty();
        // A variable product sells at its variations' prices, and they keep the stock.
        let (price, regular_price, stock, in_stock) = if variable {
            let price = lowest_price(p.variants, now_ms());
            let in_stock = p.variants.iter().any(|v| v.stock > 0);
            (price, String::new(), Value::Null, in_stock)
        } else {
            let (price, stock) = (p.text("price"), p.number("stock"));
            let in_stock = stock.as_f64().is_some_and(|s| s > 0.0);
            (price.clone(), price, stock, in_stock)
        };
        let category = p.text("category");
        let pictures = std::iter::once(p.text("thumbnail"))
            .filter(|t| !t.is_empty())
            .chain(p.strings("images"));
        WooProduct {
            id: p.id,
            name: p.text("title"),
            permalink: format!("{SHOP}/{slug}/"),
            slug,
            kind: if variable { "variable" } else { "simple" },
            status: "publish",
            description: p.text("description"),
            short_description: "",
            sku: p.text("sku"),
            regular_price,
            price,
            sale_price: "",
            stock_quantity: stock,
            stock_status: if in_stock { "instock" } else { "outofstock" },
            categories: Some(category)
                .filter(|c| !c.is_empty())
                .map(|c| Term::new(1, display_name(&c), c))
                .into_iter()
                .collect(),
            tags: p
                .strings("tags")
                .into_iter()
                .map(|t| Term::new(2, t.clone(), slugify(&t)))
                .collect(),
            images: pictures
                .enumerate()
                .map(|(i, src)| WooImage {
                    id: p.image_id(i),
                    src,
                    name: "",
                    alt: "",
                })
                .collect(),
            brands: p
                .brand()
                .map(|b| Term::new(3, b.clone(), slugify(&b)))
                .into_iter()
                .collect(),
            weight: p.text("weight"),
            dimensions: WooDimensions {
                length: p.nested("dimensions", "depth"),
                width: p.nested("dimensions", "width"),
                height: p.nested("dimensions", "height"),
            },
            attributes: if variable {
                woo_attributes(p.variants)
            } else {
                Vec::new()
            },
            variations: if variable {
                p.variants.iter().map(|v| v.id).collect()
            } else {
                Vec::new()
            },
            date_created_gmt: woo_time(p.created_ms),
            date_modified_gmt: woo_time(p.updated_ms),
            meta_data: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct ShopifyImage {
    id: u64,
    src: String,
}

#[derive(Serialize)]
struct MainImage {
    src: String,
}

/// A Shopify Admin REST product.
#[derive(Serialize)]
pub(crate) struct ShopifyProduct {
    id: u64,
    title: String,
    body_html: String,
    vendor: String,
    product_type: String,
    handle: String,
    status: &'static str,
    tags: String,
    created_at: String,
    updated_at: String,
    variants: Vec<ShopifyVariant>,
    options: Vec<ShopifyOption>,
    images: Vec<ShopifyImage>,
    image: Option<MainImage>,
}

impl ShopifyProduct {
    pub(crate) fn new(p: &Source<'_>) -> ShopifyProduct {
        let thumbnail = p.text("thumbnail");
        let (created_at, updated_at) = (shopify_time(p.created_ms), shopify_time(p.updated_ms));
        let (variants, options) = ShopifyVariants {
            product_id: p.id,
            variants: p.variants,
            sku: p.text("sku"),
            price: p.text("price"),
            stock: p.number("stock"),
            created_at: &created_at,
        }
        .build();
        ShopifyProduct {
            id: p.id,
            title: p.text("title"),
            body_html: format!("<p>{}</p>", escape_html(&p.text("description"))),
            vendor: p.brand().unwrap_or_default(),
            product_type: display_name(&p.text("category")),
            handle: p.handle(),
            status: "active",
            tags: p.strings("tags").join(", "),
            created_at,
            updated_at,
            variants,
            options,
            images: p
                .strings("images")
                .into_iter()
                .enumerate()
                .map(|(i, src)| ShopifyImage {
                    id: p.image_id(i),
                    src,
                })
                .collect(),
            image: (!thumbnail.is_empty()).then_some(MainImage { src: thumbnail }),
        }
    }
}

/// Text as HTML character data.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_slugs_follow_the_platforms() {
        assert_eq!(
            slugify("Essence Mascara Lash Princess"),
            "essence-mascara-lash-princess"
        );
        assert_eq!(slugify("  Dolce & Gabbana -- A12 "), "dolce-gabbana-a12");
        assert_eq!(display_name("mens-shirts"), "Mens Shirts");
        assert_eq!(display_name("beauty"), "Beauty");
        assert_eq!(escape_html("a < b & \"c\""), "a &lt; b &amp; &quot;c&quot;");
        assert_eq!(term_id(1, "beauty"), term_id(1, "beauty"));
        assert_ne!(term_id(1, "beauty"), term_id(1, "fragrances"));
    }

    #[test]
    fn an_odd_product_maps_without_failing() {
        let fields: RawObject = serde_json::from_str(
            r#"{"id":4,"title":7,"price":"9.90","stock":null,"tags":[1,"x"]}"#,
        )
        .expect("valid");
        let source = Source {
            id: 4,
            fields: &fields,
            created_ms: 0,
            updated_ms: 0,
            variants: &[],
        };
        let woo = serde_json::to_value(WooProduct::new(&source)).expect("serializes");
        assert_eq!(woo["name"], "7");
        assert_eq!(woo["price"], "9.90");
        assert_eq!(woo["stock_quantity"], Value::Null);
        assert_eq!(woo["stock_status"], "outofstock");
        assert_eq!(woo["tags"][0]["name"], "x");
        assert_eq!(woo["categories"], serde_json::json!([]));
        let shopify = serde_json::to_value(ShopifyProduct::new(&source)).expect("serializes");
        assert_eq!(shopify["image"], Value::Null);
        assert_eq!(shopify["vendor"], "");
        assert_eq!(shopify["variants"][0]["price"], "9.90");
    }
}
