//! The synthetic products: every field is derived from (seed, id, version) with a fast integer
//! hash, so the catalog costs no memory whatever its size. Owns field selection (`select=`) and
//! the JSON serialization of single products and listing pages, overrides included.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

use super::overrides::{Overrides, Slot};
use super::parts::{
    DAY_MS, Dimensions, Draw, Images, Meta, Reviews, Tags, Text, cents, code3, slug,
};
use super::products::Products;
use super::words::{
    ADJECTIVES, CATEGORIES, CLOSINGS, Category, OPENINGS, RETURN_POLICIES, SHIPPING, WARRANTIES,
};

/// 2025-01-01T00:00:00Z in milliseconds since the Unix epoch: products are created after it.
pub(crate) const BASE_MS: u64 = 1_735_689_600_000;
/// No unchanged generated product was updated at or after this time (see [`synthetic_times`]),
/// so a "changed since" filter from then on only has the changed products to look at.
pub(crate) const GENERATED_LATEST_MS: u64 = BASE_MS + 150 * DAY_MS;
const IMAGE_BASE: &str = "https://cdn.dummyjson.com/product-images";

/// The product fields in serialization order; a field's index is its bit in a [`FieldSet`].
pub(crate) const FIELD_NAMES: [&str; 22] = [
    "id",
    "title",
    "description",
    "category",
    "price",
    "discountPercentage",
    "rating",
    "stock",
    "tags",
    "brand",
    "sku",
    "weight",
    "dimensions",
    "warrantyInformation",
    "shippingInformation",
    "availabilityStatus",
    "reviews",
    "returnPolicy",
    "minimumOrderQuantity",
    "meta",
    "images",
    "thumbnail",
];

/// The product fields, in the order of [`FIELD_NAMES`].
#[derive(Clone, Copy)]
enum Field {
    Id,
    Title,
    Description,
    Category,
    Price,
    DiscountPercentage,
    Rating,
    Stock,
    Tags,
    Brand,
    Sku,
    Weight,
    Dimensions,
    WarrantyInformation,
    ShippingInformation,
    AvailabilityStatus,
    Reviews,
    ReturnPolicy,
    MinimumOrderQuantity,
    Meta,
    Images,
    Thumbnail,
}

/// Which fields a product is serialized with; `id` is always included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldSet<'a> {
    /// The generated fields, one bit per index in [`FIELD_NAMES`].
    bits: u32,
    /// The `select` value, kept so extra (overridden) fields can be selected by name too;
    /// `None` selects everything.
    select: Option<&'a str>,
    /// Serve numeric prices as JSON strings of the same text (`"12.5"`, not `12.5`).
    string_prices: bool,
}

/// Every generated field's bit.
const ALL_BITS: u32 = (1 << FIELD_NAMES.len()) - 1;

impl<'a> FieldSet<'a> {
    /// Every field (no `select`).
    pub(crate) const ALL: FieldSet<'static> = FieldSet {
        bits: ALL_BITS,
        select: None,
        string_prices: false,
    };

    /// Parses a `select` value: comma-separated names; names the generator does not know select
    /// extra fields only.
    pub(crate) fn parse(select: &'a str) -> FieldSet<'a> {
        let mut bits = 1 << Field::Id as u32;
        for name in names(select) {
            if let Some(index) = FIELD_NAMES.iter().position(|f| *f == name) {
                bits |= 1 << index;
            }
        }
        FieldSet {
            bits,
            select: Some(select),
            string_prices: false,
        }
    }

    /// The same fields, with numeric prices served as strings when `on`.
    pub(crate) fn with_string_prices(self, on: bool) -> FieldSet<'a> {
        FieldSet {
            string_prices: on,
            ..self
        }
    }

    /// Whether numeric prices are served as strings.
    pub(crate) fn string_prices(self) -> bool {
        self.string_prices
    }

    /// Whether a field called `name` is selected, whether the generator knows it or not.
    pub(crate) fn selects(self, name: &str) -> bool {
        name == "id" || self.has_extra(name)
    }

    fn has(self, field: Field) -> bool {
        self.bits & (1 << field as u32) != 0
    }

    /// Whether an extra field called `name` is selected.
    fn has_extra(self, name: &str) -> bool {
        self.select
            .is_none_or(|select| names(select).any(|n| n == name))
    }

    /// Whether every generated field is selected (the size of a full product).
    fn is_full(self) -> bool {
        self.bits == ALL_BITS
    }
}

/// The names in a `select` value.
pub(crate) fn names(select: &str) -> impl Iterator<Item = &str> {
    select.split(',').map(str::trim)
}

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
        &CATEGORIES[(self.draw().hash(1) % CATEGORIES.len() as u64) as usize]
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
        let noun = d.pick(2, cat.nouns);
        let adjective = d.pick(3, ADJECTIVES);
        let brand = (d.hash(4) & 1 == 0).then(|| d.pick(5, cat.brands));
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
        let (lo, hi) = cat.price_cents;
        let price = || cents(d.versioned(80, lo, hi, version));
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
        self.put(&mut map, Field::Sku, || {
            let brand_code = brand.unwrap_or("Generic");
            Text(move |f| {
                write!(f, "{}-", cat.code)?;
                code3(f, brand_code)?;
                f.write_char('-')?;
                code3(f, noun)?;
                write!(f, "-{id:03}")
            })
        })?;
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
