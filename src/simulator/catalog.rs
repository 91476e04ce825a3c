//! The synthetic products: every field is derived from (seed, id, version) with a fast integer
//! hash, so the catalog costs no memory whatever its size. Owns field selection (`select=`) and
//! the JSON serialization of single products and listing pages.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::parts::{
    DAY_MS, Dimensions, Draw, Images, Meta, Reviews, Tags, Text, cents, code3, slug,
};
use super::words::{
    ADJECTIVES, CATEGORIES, CLOSINGS, Category, OPENINGS, RETURN_POLICIES, SHIPPING, WARRANTIES,
};

/// 2025-01-01T00:00:00Z in milliseconds since the Unix epoch: products are created after it.
const BASE_MS: u64 = 1_735_689_600_000;
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
pub(crate) struct FieldSet(u32);

impl FieldSet {
    /// Every field (no `select`).
    pub(crate) const ALL: FieldSet = FieldSet((1 << FIELD_NAMES.len()) - 1);

    /// Parses a `select` value: comma-separated names; unknown names are ignored.
    pub(crate) fn parse(select: &str) -> FieldSet {
        let mut bits = 1 << Field::Id as u32;
        for name in select.split(',').map(str::trim) {
            if let Some(index) = FIELD_NAMES.iter().position(|f| *f == name) {
                bits |= 1 << index;
            }
        }
        FieldSet(bits)
    }

    fn has(self, field: Field) -> bool {
        self.0 & (1 << field as u32) != 0
    }
}

/// What the mutable state says about one live product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProductSpec {
    pub id: u64,
    /// Bumped by every mutation; 0 for an untouched product.
    pub version: u32,
    /// A title set by the tests, replacing the generated one.
    pub title: Option<Arc<str>>,
}

/// A product ready to serialize: the spec, the catalog seed and the selected fields.
pub(crate) struct ProductView<'a> {
    pub seed: u64,
    pub spec: &'a ProductSpec,
    pub fields: FieldSet,
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
}

impl Serialize for ProductView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.draw();
        let (id, version, fields) = (self.spec.id, self.spec.version, self.fields);
        let cat = self.category();
        let noun = d.pick(2, cat.nouns);
        let adjective = d.pick(3, ADJECTIVES);
        let brand = (d.hash(4) & 1 == 0).then(|| d.pick(5, cat.brands));
        let series = char::from(b'A' + (d.hash(6) % 26) as u8);
        let stock = d.versioned(20, 0, 150, version);
        let created = BASE_MS + d.hash(30) % (120 * DAY_MS);
        let updated = created + d.hash(31) % (30 * DAY_MS) + u64::from(version) * 1000;

        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &id)?;
        if fields.has(Field::Title) {
            match &self.spec.title {
                Some(title) => map.serialize_entry("title", &**title)?,
                None => map.serialize_entry(
                    "title",
                    &Text(|f| {
                        if let Some(brand) = brand {
                            write!(f, "{brand} ")?;
                        }
                        write!(f, "{adjective} {noun} {series}{id}")
                    }),
                )?,
            }
        }
        if fields.has(Field::Description) {
            let text = Text(|f| {
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
            });
            map.serialize_entry("description", &text)?;
        }
        if fields.has(Field::Category) {
            map.serialize_entry("category", cat.slug)?;
        }
        if fields.has(Field::Price) {
            let (lo, hi) = cat.price_cents;
            map.serialize_entry("price", &cents(d.versioned(80, lo, hi, version)))?;
        }
        if fields.has(Field::DiscountPercentage) {
            map.serialize_entry("discountPercentage", &cents(d.range(11, 50, 2000)))?;
        }
        if fields.has(Field::Rating) {
            map.serialize_entry("rating", &cents(d.range(12, 100, 500)))?;
        }
        if fields.has(Field::Stock) {
            map.serialize_entry("stock", &stock)?;
        }
        if fields.has(Field::Tags) {
            map.serialize_entry(
                "tags",
                &Tags {
                    draw: d,
                    category: cat,
                },
            )?;
        }
        if let Some(brand) = brand.filter(|_| fields.has(Field::Brand)) {
            map.serialize_entry("brand", brand)?;
        }
        if fields.has(Field::Sku) {
            let brand_code = brand.unwrap_or("Generic");
            let text = Text(|f| {
                write!(f, "{}-", cat.code)?;
                code3(f, brand_code)?;
                f.write_char('-')?;
                code3(f, noun)?;
                write!(f, "-{id:03}")
            });
            map.serialize_entry("sku", &text)?;
        }
        if fields.has(Field::Weight) {
            map.serialize_entry("weight", &d.range(13, 1, 10))?;
        }
        if fields.has(Field::Dimensions) {
            map.serialize_entry("dimensions", &Dimensions(d))?;
        }
        if fields.has(Field::WarrantyInformation) {
            map.serialize_entry("warrantyInformation", d.pick(14, WARRANTIES))?;
        }
        if fields.has(Field::ShippingInformation) {
            map.serialize_entry("shippingInformation", d.pick(15, SHIPPING))?;
        }
        if fields.has(Field::AvailabilityStatus) {
            let status = match stock {
                0 => "Out of Stock",
                s if s < LOW_STOCK => "Low Stock",
                _ => "In Stock",
            };
            map.serialize_entry("availabilityStatus", status)?;
        }
        if fields.has(Field::Reviews) {
            map.serialize_entry("reviews", &Reviews { draw: d, created })?;
        }
        if fields.has(Field::ReturnPolicy) {
            map.serialize_entry("returnPolicy", d.pick(16, RETURN_POLICIES))?;
        }
        if fields.has(Field::MinimumOrderQuantity) {
            map.serialize_entry("minimumOrderQuantity", &d.range(17, 1, 50))?;
        }
        if fields.has(Field::Meta) {
            map.serialize_entry(
                "meta",
                &Meta {
                    draw: d,
                    created,
                    updated,
                },
            )?;
        }
        let image = |f: &mut fmt::Formatter<'_>, name: fmt::Arguments<'_>| {
            write!(f, "{IMAGE_BASE}/{}/", cat.slug)?;
            slug(f, noun, Some('-'))?;
            write!(f, "-{id}/{name}.webp")
        };
        if fields.has(Field::Images) {
            let count = d.range(18, 1, 3);
            map.serialize_entry(
                "images",
                &Images {
                    count,
                    image: &image,
                },
            )?;
        }
        if fields.has(Field::Thumbnail) {
            let text = Text(|f| image(f, format_args!("thumbnail")));
            map.serialize_entry("thumbnail", &text)?;
        }
        map.end()
    }
}

/// Serializes a listing page, `{"products":[...],"total":T,"skip":S,"limit":n}`, into one buffer.
pub(crate) fn write_page(
    seed: u64,
    specs: &[ProductSpec],
    fields: FieldSet,
    total: u64,
    skip: u64,
) -> serde_json::Result<Vec<u8>> {
    // About the size of a page of up to 2,000 products; `limit=0` pages grow as they go.
    let per_product = if fields == FieldSet::ALL { 1500 } else { 96 };
    let mut body = Vec::with_capacity(64 + specs.len().min(2000) * per_product);
    body.extend_from_slice(b"{\"products\":[");
    for (i, spec) in specs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &ProductView { seed, spec, fields })?;
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
