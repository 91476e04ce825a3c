//! A product's variants in each API's shape: DummyJSON-style `options` and `variants` fields,
//! Shopify's `variants` and `options` (the "Default Title" placeholder for a product sold one
//! way), and WooCommerce's variation `attributes` and variations.

use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::clock::woo_time;
use super::variants::{Variant, cmp_decimal};

/// The option names, in order.
const OPTION_NAMES: [&str; 2] = ["Size", "Color"];
/// WooCommerce's global attribute ids of the options.
const WOO_ATTRIBUTE_IDS: [u64; 2] = [1, 2];
/// Shopify's title and option value of the only variant of a product sold one way.
const DEFAULT_TITLE: &str = "Default Title";

/// Each option's values, in the order the variants first use them.
pub(crate) fn option_values(variants: &[Variant]) -> [Vec<&'static str>; 2] {
    let mut values: [Vec<&'static str>; 2] = [Vec::new(), Vec::new()];
    for v in variants {
        for (list, value) in values.iter_mut().zip([v.size, v.color]) {
            if !list.contains(&value) {
                list.push(value);
            }
        }
    }
    values
}

#[derive(Serialize)]
struct DummyOption {
    name: &'static str,
    values: Vec<&'static str>,
}

/// A variant as the DummyJSON-shaped routes serve it: prices as JSON numbers of their exact
/// text, or strings of it when prices are served as strings.
struct DummyVariant<'a> {
    variant: &'a Variant,
    string_prices: bool,
}

impl DummyVariant<'_> {
    fn price<M: SerializeMap>(&self, map: &mut M, name: &str, text: &str) -> Result<(), M::Error> {
        if self.string_prices {
            return map.serialize_entry(name, text);
        }
        let raw = RawValue::from_string(text.to_owned()).map_err(M::Error::custom)?;
        map.serialize_entry(name, &raw)
    }
}

impl Serialize for DummyVariant<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.variant;
        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("id", &v.id)?;
        map.serialize_entry("title", &v.title())?;
        map.serialize_entry("sku", &v.sku)?;
        map.serialize_entry("barcode", &barcode(v))?;
        self.price(&mut map, "price", &v.price)?;
        match &v.compare_at {
            Some(text) => self.price(&mut map, "compare_at_price", text)?,
            None => map.serialize_entry("compare_at_price", &Value::Null)?,
        }
        map.serialize_entry("stock", &v.stock)?;
        map.serialize_entry("option1", v.size)?;
        map.serialize_entry("option2", v.color)?;
        map.end()
    }
}

/// Appends `,"options":[…]` and/or `,"variants":[…]` to an open JSON object (no comma first
/// when the object is still `empty`).
pub(crate) fn write_dummyjson_variants(
    out: &mut Vec<u8>,
    list: &[Variant],
    options: bool,
    variants: bool,
    string_prices: bool,
    mut empty: bool,
) -> serde_json::Result<()> {
    let mut key = |out: &mut Vec<u8>, name: &str| {
        if !empty {
            out.push(b',');
        }
        empty = false;
        out.extend_from_slice(format!("\"{name}\":").as_bytes());
    };
    if options {
        key(out, "options");
        let values = option_values(list);
        let options: Vec<DummyOption> = OPTION_NAMES
            .into_iter()
            .zip(values)
            .map(|(name, values)| DummyOption { name, values })
            .collect();
        serde_json::to_writer(&mut *out, &options)?;
    }
    if variants {
        key(out, "variants");
        let variants: Vec<DummyVariant<'_>> = list
            .iter()
            .map(|variant| DummyVariant {
                variant,
                string_prices,
            })
            .collect();
        serde_json::to_writer(&mut *out, &variants)?;
    }
    Ok(())
}

fn barcode(v: &Variant) -> String {
    format!("{:013}", v.barcode)
}

/// The only variant of a Shopify product sold one way.
#[derive(Serialize)]
pub(crate) struct DefaultVariant {
    id: u64,
    product_id: u64,
    title: &'static str,
    sku: String,
    price: String,
    inventory_quantity: Value,
    option1: &'static str,
    option2: Option<&'static str>,
    option3: Option<&'static str>,
}

/// A Shopify variant of a product sold in variants.
#[derive(Serialize)]
pub(crate) struct ListedVariant {
    id: u64,
    product_id: u64,
    title: String,
    price: String,
    position: usize,
    inventory_policy: &'static str,
    compare_at_price: Option<String>,
    option1: &'static str,
    option2: &'static str,
    option3: Option<&'static str>,
    created_at: String,
    updated_at: String,
    taxable: bool,
    barcode: String,
    sku: String,
    requires_shipping: bool,
    inventory_quantity: u64,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum ShopifyVariant {
    Default(DefaultVariant),
    Listed(ListedVariant),
}

/// A Shopify product option.
#[derive(Serialize)]
pub(crate) struct ShopifyOption {
    id: u64,
    product_id: u64,
    name: &'static str,
    position: usize,
    values: Vec<&'static str>,
}

/// A Shopify product's `variants` and `options`: the listed variants with options Size and
/// Color, or (sold one way) Shopify's placeholder, one "Default Title" variant carrying the
/// product's SKU, price and stock.
pub(crate) struct ShopifyVariants<'a> {
    pub product_id: u64,
    pub variants: &'a [Variant],
    pub sku: String,
    pub price: String,
    pub stock: Value,
    pub created_at: &'a str,
}

impl ShopifyVariants<'_> {
    pub(crate) fn build(self) -> (Vec<ShopifyVariant>, Vec<ShopifyOption>) {
        let product_id = self.product_id;
        let option = |position: usize, name, values| ShopifyOption {
            id: product_id.wrapping_mul(10).wrapping_add(position as u64),
            product_id,
            name,
            position,
            values,
        };
        if self.variants.is_empty() {
            let variant = DefaultVariant {
                id: product_id.wrapping_mul(1000).wrapping_add(1),
                product_id,
                title: DEFAULT_TITLE,
                sku: self.sku,
                price: self.price,
                inventory_quantity: self.stock,
                option1: DEFAULT_TITLE,
                option2: None,
                option3: None,
            };
            let options = vec![option(1, "Title", vec![DEFAULT_TITLE])];
            return (vec![ShopifyVariant::Default(variant)], options);
        }
        let variants = (1..)
            .zip(self.variants)
            .map(|(position, v)| {
                ShopifyVariant::Listed(ListedVariant {
                    id: v.id,
                    product_id,
                    title: v.title(),
                    price: v.price.clone(),
                    position,
                    inventory_policy: "deny",
                    compare_at_price: v.compare_at.clone(),
                    option1: v.size,
                    option2: v.color,
                    option3: None,
                    created_at: self.created_at.to_owned(),
                    // The simulator keeps no time per variant; the product's creation time
                    // keeps a variant's answer the same while only another variant changes,
                    // as Shopify's own per-variant `updated_at` does.
                    updated_at: self.created_at.to_owned(),
                    taxable: true,
                    barcode: barcode(v),
                    sku: v.sku.clone(),
                    requires_shipping: true,
                    inventory_quantity: v.stock,
                })
            })
            .collect();
        let options = (1..)
            .zip(OPTION_NAMES)
            .zip(option_values(self.variants))
            .map(|((position, name), values)| option(position, name, values))
            .collect();
        (variants, options)
    }
}

/// A WooCommerce product attribute used for variations.
#[derive(Serialize)]
pub(crate) struct WooAttribute {
    id: u64,
    name: &'static str,
    position: usize,
    visible: bool,
    variation: bool,
    options: Vec<&'static str>,
}

/// A variable WooCommerce product's variation attributes: Size and Color.
pub(crate) fn woo_attributes(variants: &[Variant]) -> Vec<WooAttribute> {
    (0..)
        .zip(OPTION_NAMES.into_iter().zip(WOO_ATTRIBUTE_IDS))
        .zip(option_values(variants))
        .map(|((position, (name, id)), options)| WooAttribute {
            id,
            name,
            position,
            visible: true,
            variation: true,
            options,
        })
        .collect()
}

/// The price a variation sells at, at `now`: its sale price while its sale runs, else its
/// regular price.
pub(crate) fn active_price(v: &Variant, now: u64) -> &str {
    match &v.sale {
        Some(sale) if sale.is_active(now) => &sale.price,
        _ => &v.price,
    }
}

/// A variable product's price: the lowest price its variations sell at now.
pub(crate) fn lowest_price(variants: &[Variant], now: u64) -> String {
    variants
        .iter()
        .map(|v| active_price(v, now))
        .min_by(|a, b| cmp_decimal(a, b))
        .unwrap_or_default()
        .to_owned()
}

#[derive(Serialize)]
struct WooOption {
    id: u64,
    name: &'static str,
    option: &'static str,
}

/// A WooCommerce REST v3 product variation.
#[derive(Serialize)]
pub(crate) struct WooVariation {
    id: u64,
    date_created_gmt: String,
    date_modified_gmt: String,
    sku: String,
    global_unique_id: String,
    price: String,
    regular_price: String,
    sale_price: String,
    date_on_sale_from_gmt: String,
    date_on_sale_to_gmt: String,
    on_sale: bool,
    status: &'static str,
    purchasable: bool,
    manage_stock: bool,
    stock_quantity: u64,
    stock_status: &'static str,
    attributes: [WooOption; 2],
    menu_order: usize,
    meta_data: [Value; 0],
}

impl WooVariation {
    /// Variation `v` (at `menu_order`) of a product created and last changed at these times.
    pub(crate) fn new(v: &Variant, menu_order: usize, times: (u64, u64), now: u64) -> Self {
        let sale = v.sale.as_ref();
        let date = |ms: Option<u64>| ms.map(woo_time).unwrap_or_default();
        WooVariation {
            id: v.id,
            date_created_gmt: woo_time(times.0),
            // The simulator keeps no time per variation: the product's creation time keeps a
            // variation's answer the same while only another one changes.
            date_modified_gmt: woo_time(times.0),
            sku: v.sku.clone(),
            global_unique_id: barcode(v),
            price: active_price(v, now).to_owned(),
            regular_price: v.price.clone(),
            sale_price: sale.map(|s| s.price.clone()).unwrap_or_default(),
            date_on_sale_from_gmt: date(sale.and_then(|s| s.from_ms)),
            date_on_sale_to_gmt: date(sale.and_then(|s| s.to_ms)),
            on_sale: sale.is_some_and(|s| s.is_active(now)),
            status: "publish",
            purchasable: true,
            manage_stock: true,
            stock_quantity: v.stock,
            stock_status: if v.stock > 0 { "instock" } else { "outofstock" },
            attributes: [
                WooOption {
                    id: WOO_ATTRIBUTE_IDS[0],
                    name: OPTION_NAMES[0],
                    option: v.size,
                },
                WooOption {
                    id: WOO_ATTRIBUTE_IDS[1],
                    name: OPTION_NAMES[1],
                    option: v.color,
                },
            ],
            menu_order,
            meta_data: [],
        }
    }
}
