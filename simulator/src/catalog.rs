//! The synthetic products: every field is derived from (seed, id, version) with a fast integer
//! hash, so the catalog costs no memory whatever its size. Owns the JSON serialization of single
//! products and listing pages, overrides included (field selection is in `fields`).

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

use super::fields::Field;
pub(crate) use super::fields::{FIELD_NAMES, FieldSet, names};
use super::overrides::{Overrides, Slot};
use super::parts::{
    DAY_MS, Dimensions, Draw, Images, Meta, Reviews, Tags, Text, cents, code3, slug,
};
use super::products::Products;
use super::variants::VariantEdits;
use super::words::{
    ADJECTIVES, CATEGORIES, CLOSINGS, Category, OPENINGS, RETURN_POLICIES, SHIPPING, WARRANTIES,
};

/// 2025-01-01T00:00:00Z in milliseconds since the Unix epoch: products are created after it.
pub(crate) const BASE_MS: u64 = 1_735_689_600_000;
/// No unchanged generated product was updated at or after this time (see [`synthetic_times`]),
/// so a "changed since" filter from then on only has the changed products to look at.
pub(crate) const GENERATED_LATEST_MS: u64 = BASE_MS + 150 * DAY_MS;
const IMAGE_BASE: &str = "https://cdn.dummyjson.com/product-images";

/// What the mutable state says about one live product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProductSpec {
    pub id: u64,
    /// Bumped by every change; 0 for an untouched product.
    pub version: u32,
    /// When the latest change happened (wall-clock milliseconds), `None` if never changed.
    pub stamp: Option<u64>,
    /// Fields set (or omitted) by the tests, replacing the generated ones; shared with the
    /// state so a page of changed products copies no JSON.
    pub overrides: Option<Arc<Overrides>>,
    /// The product's variants once a test changed them (`None`: as generated); shared with
    /// the state like the overrides.
    pub variants: Option<Arc<VariantEdits>>,
}

/// A product ready to serialize: the spec, the catalog seed and the selected fields.
pub(crate) struct ProductView<'a> {
    pub seed: u64,
    pub spec: &'a ProductSpec,
    pub fields: FieldSet<'a>,
}

/// Stock levels below this are "Low Stock".
const LOW_STOCK: u64 = 10;

impl ProductView<'_> {
    fn draw(&self) -> Draw {
        Draw::new(self.seed, self.spec.id)
    }

    fn category(&self) -> &'static Category {
        category(self.draw())
    }

    /// Writes `field` if selected: its override if there is one, else `value()` (nothing when
    /// that is `None`). The value is built only when it is served.
    fn entry<M, V, F>(&self, map: &mut M, field: Field, value: F) -> Result<(), M::Error>
    where
        M: SerializeMap,
        V: Serialize,
        F: FnOnce() -> Option<V>,
    {
        if !self.fields.has(field) {
            return Ok(());
        }
        let name = FIELD_NAMES[field as usize];
        let slot = match &self.spec.overrides {
            Some(overrides) => overrides.slot(name),
            None => Slot::Generated,
        };
        match slot {
            Slot::Raw(raw) => map.serialize_entry(name, raw),
            Slot::Omitted => Ok(()),
            Slot::Generated => match value() {
                Some(value) => map.serialize_entry(name, &value),
                None => Ok(()),
            },
        }
    }

    /// The price as a JSON string of the exact text its number would have (an overridden
    /// number too; an overridden non-number is served as it is).
    fn price_text<M, F>(&self, map: &mut M, value: F) -> Result<(), M::Error>
    where
        M: SerializeMap,
        F: FnOnce() -> f64,
    {
        if !self.fields.has(Field::Price) {
            return Ok(());
        }
        let slot = match &self.spec.overrides {
            Some(overrides) => overrides.slot("price"),
            None => Slot::Generated,
        };
        match slot {
            Slot::Raw(raw) => match number_text(raw) {
                Some(text) => map.serialize_entry("price", text),
                None => map.serialize_entry("price", raw),
            },
            Slot::Omitted => Ok(()),
            Slot::Generated => {
                let text = serde_json::to_string(&value()).map_err(serde::ser::Error::custom)?;
                map.serialize_entry("price", &text)
            }
        }
    }

    /// Like [`ProductView::entry`] for a field that is always generated.
    fn put<M, V, F>(&self, map: &mut M, field: Field, value: F) -> Result<(), M::Error>
    where
        M: SerializeMap,
        V: Serialize,
        F: FnOnce() -> V,
    {
        self.entry(map, field, || Some(value()))
    }
}

impl Serialize for ProductView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.draw();
        let (id, version) = (self.spec.id, self.spec.version);
        let cat = self.category();
        let (noun, brand) = noun_and_brand(d, cat);
        let adjective = d.pick(3, ADJECTIVES);
        let series = char::from(b'A' + (d.hash(6) % 26) as u8);
        let stock = d.versioned(20, 0, 150, version);
        let (created, updated) = synthetic_times(d, version, self.spec.stamp);

        let mut map = serializer.serialize_map(None)?;
        // `id` is always selected; the ones with a title of their own skip building it.
        self.put(&mut map, Field::Id, || id)?;
        self.put(&mut map, Field::Title, || {
            Text(move |f| {
                if let Some(brand) = brand {
                    write!(f, "{brand} ")?;
                }
                write!(f, "{adjective} {noun} {series}{id}")
            })
        })?;
        self.put(&mut map, Field::Description, || {
            Text(move |f| {
                write!(f, "{}: the ", d.pick(7, OPENINGS))?;
                slug(f, adjective, Some(' '))?;
                f.write_char(' ')?;
                slug(f, noun, Some(' '))?;
                let closing = d.pick(8, CLOSINGS);
                write!(
                    f,
                    " of our {} range, model {series}{id}. {closing}",
                    cat.label
                )
            })
        })?;
        self.put(&mut map, Field::Category, || cat.slug)?;
        let price = || cents(price_cents(d, cat, version));
        if self.fields.string_prices() {
            self.price_text(&mut map, price)?;
        } else {
            self.put(&mut map, Field::Price, price)?;
        }
        self.put(&mut map, Field::DiscountPercentage, || {
            cents(d.range(11, 50, 2000))
        })?;
        self.put(&mut map, Field::Rating, || cents(d.range(12, 100, 500)))?;
        self.put(&mut map, Field::Stock, || stock)?;
        self.put(&mut map, Field::Tags, || Tags {
            draw: d,
            category: cat,
        })?;
        // Products without a brand have no `brand` field, unless a test gives them one.
        self.entry(&mut map, Field::Brand, || brand)?;
        self.put(&mut map, Field::Sku, || sku(cat, brand, noun, id))?;
        self.put(&mut map, Field::Weight, || d.range(13, 1, 10))?;
        self.put(&mut map, Field::Dimensions, || Dimensions(d))?;
        self.put(&mut map, Field::WarrantyInformation, || {
            d.pick(14, WARRANTIES)
        })?;
        self.put(&mut map, Field::ShippingInformation, || {
            d.pick(15, SHIPPING)
        })?;
        self.put(&mut map, Field::AvailabilityStatus, || match stock {
            0 => "Out of Stock",
            s if s < LOW_STOCK => "Low Stock",
            _ => "In Stock",
        })?;
        self.put(&mut map, Field::Reviews, || Reviews { draw: d, created })?;
        self.put(&mut map, Field::ReturnPolicy, || {
            d.pick(16, RETURN_POLICIES)
        })?;
        self.put(&mut map, Field::MinimumOrderQuantity, || d.range(17, 1, 50))?;
        self.put(&mut map, Field::Meta, || Meta {
            draw: d,
            created,
            updated,
        })?;
        let image = |f: &mut fmt::Formatter<'_>, name: fmt::Arguments<'_>| {
            write!(f, "{IMAGE_BASE}/{}/", cat.slug)?;
            slug(f, noun, Some('-'))?;
            write!(f, "-{id}/{name}.webp")
        };
        self.put(&mut map, Field::Images, || Images {
            count: d.range(18, 1, 3),
            image: &image,
        })?;
        self.put(&mut map, Field::Thumbnail, || {
            Text(|f| image(f, format_args!("thumbnail")))
        })?;
        if let Some(overrides) = &self.spec.overrides {
            for (name, raw) in overrides.extras(&FIELD_NAMES) {
                if self.fields.has_extra(name) {
                    map.serialize_entry(name, raw)?;
                }
            }
        }
        map.end()
    }
}

fn category(d: Draw) -> &'static Category {
    &CATEGORIES[(d.hash(1) % CATEGORIES.len() as u64) as usize]
}

/// The product's noun and its brand (about half the products have none).
fn noun_and_brand(d: Draw, cat: &'static Category) -> (&'static str, Option<&'static str>) {
    (
        d.pick(2, cat.nouns),
        (d.hash(4) & 1 == 0).then(|| d.pick(5, cat.brands)),
    )
}

/// The price in cents at `version`.
fn price_cents(d: Draw, cat: &Category, version: u32) -> u64 {
    let (lo, hi) = cat.price_cents;
    d.versioned(80, lo, hi, version)
}

/// The SKU: category code, brand and noun codes, id (`BEA-ESS-MAS-001`).
fn sku(
    cat: &'static Category,
    brand: Option<&'static str>,
    noun: &'static str,
    id: u64,
) -> Text<impl Fn(&mut fmt::Formatter<'_>) -> fmt::Result> {
    let brand_code = brand.unwrap_or("Generic");
    Text(move |f| {
        write!(f, "{}-", cat.code)?;
        code3(f, brand_code)?;
        f.write_char('-')?;
        code3(f, noun)?;
        write!(f, "-{id:03}")
    })
}

/// A generated product's SKU and its first price in cents: what its variants derive from.
pub(crate) fn variant_basis(seed: u64, id: u64) -> (String, u64) {
    let d = Draw::new(seed, id);
    let cat = category(d);
    let (noun, brand) = noun_and_brand(d, cat);
    (
        sku(cat, brand, noun, id).to_string(),
        price_cents(d, cat, 0),
    )
}

/// The text of `raw` if it is a JSON number.
pub(crate) fn number_text(raw: &RawValue) -> Option<&str> {
    let text = raw.get();
    text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        .then_some(text)
}

/// When a generated product was created and last updated, in milliseconds since the epoch.
/// Each version moves the update on by a second, and a change stamped by the wall clock
/// (`stamp`) moves it to at least that time: a "changed since" filter sees every change.
pub(crate) fn synthetic_times(d: Draw, version: u32, stamp: Option<u64>) -> (u64, u64) {
    let created = BASE_MS + d.hash(30) % (120 * DAY_MS);
    let updated = created + d.hash(31) % (30 * DAY_MS) + u64::from(version) * 1000;
    (created, updated.max(stamp.unwrap_or(0)))
}

/// Serializes a listing page, `{"products":[...],"total":T,"skip":S,"limit":n}`, into one buffer.
pub(crate) fn write_page(
    products: &Products,
    specs: &[ProductSpec],
    fields: FieldSet<'_>,
    total: u64,
    skip: u64,
) -> serde_json::Result<Vec<u8>> {
    // About the size of a page of up to 2,000 products; `limit=0` pages grow as they go.
    let per_product = if fields.is_full() { 1500 } else { 96 };
    let mut body = Vec::with_capacity(64 + specs.len().min(2000) * per_product);
    body.extend_from_slice(b"{\"products\":[");
    for (i, spec) in specs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        products.write(&mut body, spec, fields)?;
    }
    let tail = format!(
        "],\"total\":{total},\"skip\":{skip},\"limit\":{}}}",
        specs.len()
    );
    body.extend_from_slice(tail.as_bytes());
    Ok(body)
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
