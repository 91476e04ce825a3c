//! The product as the catalog stores it, independent of any wire format.

use super::attributes::Attributes;
use super::handle::{slugify, suffixed_handle};
use super::hash::{ContentHash, Hasher};
use super::id::{IdError, check_product_id};
use super::price::{Price, PriceError};
use chrono::{DateTime, Utc};

/// A product as the catalog keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    /// The upstream's id, as text (`17`, or an opaque string id).
    pub external_id: String,
    pub title: String,
    pub description: String,
    /// Category slug, e.g. `home-decoration`.
    pub category: Option<String>,
    /// The category's display name when the upstream gives one; otherwise a new category is
    /// named from its slug. Not part of the content hash: it names the category, not the product.
    pub category_name: Option<String>,
    pub brand: Option<String>,
    pub sku: Option<String>,
    pub price: Option<Price>,
    pub stock: Option<i64>,
    pub tags: Vec<String>,
    pub images: Vec<String>,
    pub thumbnail: Option<String>,
    /// The other upstream fields the service keeps (dimensions, rating, meta, ...), stored as JSON.
    pub attributes: Attributes,
    /// When the upstream last changed the product (`meta.updatedAt`), if it says.
    pub source_updated_at: Option<DateTime<Utc>>,
}

/// Why an upstream object is not a product the catalog can store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProductError {
    #[error(transparent)]
    BadId(#[from] IdError),
    #[error("product {0} has no title")]
    MissingTitle(String),
    #[error("product {id} has an invalid price {price}: {reason}")]
    BadPrice {
        id: String,
        /// The value as the upstream wrote it (cut short when long).
        price: String,
        reason: PriceError,
    },
    #[error("product {id} has a negative stock ({stock})")]
    NegativeStock { id: String, stock: i64 },
    #[error("product {id} has a NUL character in {field}, which the catalog cannot store")]
    NulCharacter { id: String, field: &'static str },
}

impl ProductError {
    /// A price error for product `id`, quoting at most 64 characters of what was sent.
    pub fn bad_price(id: &str, price: &str, reason: PriceError) -> Self {
        ProductError::BadPrice {
            id: id.to_owned(),
            price: price.chars().take(64).collect(),
            reason,
        }
    }
}

impl Product {
    /// Checks the invariants every stored product satisfies, and drops empty tags and images and
    /// control characters inside them (the store joins lists with U+001F). A NUL character in
    /// any other text is refused here, with the field named, because PostgreSQL refuses it in
    /// `text` and `jsonb` alike.
    pub fn validate(mut self) -> Result<Self, ProductError> {
        check_product_id(&self.external_id)?;
        if self.title.trim().is_empty() {
            return Err(ProductError::MissingTitle(self.external_id));
        }
        if let Some(stock) = self.stock.filter(|s| *s < 0) {
            return Err(ProductError::NegativeStock {
                id: self.external_id,
                stock,
            });
        }
        let texts = [
            ("title", Some(self.title.as_str())),
            ("description", Some(self.description.as_str())),
            ("category", self.category.as_deref()),
            ("brand", self.brand.as_deref()),
            ("sku", self.sku.as_deref()),
            ("thumbnail", self.thumbnail.as_deref()),
        ];
        let nul_field = texts
            .into_iter()
            .find(|(_, text)| text.is_some_and(|t| t.contains('\0')))
            .map(|(field, _)| field)
            .or_else(|| self.attributes.contains_nul().then_some("attributes"));
        if let Some(field) = nul_field {
            return Err(ProductError::NulCharacter {
                id: self.external_id,
                field,
            });
        }
        clean_list(&mut self.tags);
        clean_list(&mut self.images);
        Ok(self)
    }

    /// The handle this product asks for: the slug of its title.
    pub fn base_handle(&self) -> String {
        slugify(&self.title)
    }

    /// Fingerprint of every stored field, so an unchanged product is never rewritten.
    pub fn content_hash(&self) -> ContentHash {
        let mut h = Hasher::new();
        h.str(&self.external_id)
            .str(&self.title)
            .str(&self.description)
            .opt_str(self.category.as_deref())
            .opt_str(self.brand.as_deref())
            .opt_str(self.sku.as_deref())
            .opt_str(self.price.as_ref().map(Price::as_str))
            .opt_i64(self.stock)
            .strs(&self.tags)
            .strs(&self.images)
            .opt_str(self.thumbnail.as_deref())
            .str(self.attributes.as_str())
            .opt_str(self.source_updated_at.map(|t| t.to_rfc3339()).as_deref());
        h.finish()
    }
}

fn clean_list(items: &mut Vec<String>) {
    for item in items.iter_mut() {
        if item.chars().any(char::is_control) {
            item.retain(|c| !c.is_control());
        }
    }
    items.retain(|item| !item.trim().is_empty());
}

/// A readable category name from its slug: `home-decoration` → `Home Decoration`.
pub fn category_name(slug: &str) -> String {
    slug.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A product ready to write: its hash and both handles it may get are computed once, off the
/// database.
#[derive(Clone, Debug)]
pub struct PreparedProduct {
    pub product: Product,
    pub hash: ContentHash,
    /// The slug of the title, which the product gets unless another product holds it.
    pub handle: String,
    /// The handle it gets when the slug is taken.
    pub handle_suffixed: String,
    /// The fingerprint of the listing record it was read from; `None` for a product from an
    /// event or the item endpoint, whose bytes differ from the listing's.
    pub record: Option<super::RecordFingerprint>,
}

impl From<Product> for PreparedProduct {
    fn from(product: Product) -> Self {
        let handle = product.base_handle();
        let handle_suffixed = suffixed_handle(&handle, &product.external_id);
        PreparedProduct {
            hash: product.content_hash(),
            handle,
            handle_suffixed,
            product,
            record: None,
        }
    }
}

impl PreparedProduct {
    /// A product read from a listing record with this fingerprint.
    pub fn listed(product: Product, record: super::RecordFingerprint) -> Self {
        PreparedProduct {
            record: Some(record),
            ..PreparedProduct::from(product)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(id: &str) -> Product {
        Product {
            external_id: id.to_owned(),
            title: "Essence Mascara Lash Princess".into(),
            description: "Volumizing mascara".into(),
            category: Some("beauty".into()),
            category_name: None,
            brand: Some("Essence".into()),
            sku: Some("BEA-ESS-ESS-001".into()),
            price: Some(Price::parse("9.99").unwrap()),
            stock: Some(99),
            tags: vec!["beauty".into(), "mascara".into()],
            images: vec!["https://cdn.example/1.webp".into()],
            thumbnail: Some("https://cdn.example/t.webp".into()),
            attributes: Attributes::from_map(
                serde_json::json!({"rating": 2.56, "dimensions": {"width": 15.14}})
                    .as_object()
                    .unwrap(),
            ),
            source_updated_at: None,
        }
    }

    #[test]
    fn equal_products_hash_equal_and_any_field_change_shows() {
        let a = sample("1");
        assert_eq!(a.content_hash(), sample("1").content_hash());
        let mut b = sample("1");
        b.stock = Some(98);
        assert_ne!(a.content_hash(), b.content_hash());
        let mut c = sample("1");
        c.attributes = Attributes::from_map(
            serde_json::json!({"rating": 2.57, "dimensions": {"width": 15.14}})
                .as_object()
                .unwrap(),
        );
        assert_ne!(a.content_hash(), c.content_hash());
        let mut d = sample("1");
        d.brand = None;
        assert_ne!(a.content_hash(), d.content_hash());
    }

    #[test]
    fn products_need_an_id_and_a_title() {
        assert!(sample("1").validate().is_ok());
        assert_eq!(
            sample("").validate(),
            Err(ProductError::BadId(IdError::Empty))
        );
        assert!(matches!(
            sample("..").validate(),
            Err(ProductError::BadId(IdError::DotSegment(_)))
        ));
        let mut untitled = sample("7");
        untitled.title = "  ".into();
        assert_eq!(
            untitled.validate(),
            Err(ProductError::MissingTitle("7".into()))
        );
    }

    #[test]
    fn empty_list_items_and_control_characters_are_dropped() {
        let mut p = sample("1");
        p.tags = vec!["a\u{1f}b".into(), "".into(), " ".into(), "c".into()];
        let p = p.validate().unwrap();
        assert_eq!(p.tags, vec!["ab", "c"]);
    }

    #[test]
    fn negative_stock_and_nul_characters_are_refused() {
        let mut p = sample("1");
        p.stock = Some(-1);
        assert_eq!(
            p.validate(),
            Err(ProductError::NegativeStock {
                id: "1".into(),
                stock: -1
            })
        );
        let mut p = sample("2");
        p.title = "Lamp\u{0}".into();
        assert!(matches!(
            p.validate(),
            Err(ProductError::NulCharacter { field: "title", .. })
        ));
        let mut p = sample("3");
        p.attributes = Attributes::from_map(
            serde_json::json!({"meta": {"barcode": "1\u{0}"}})
                .as_object()
                .unwrap(),
        );
        assert!(matches!(
            p.validate(),
            Err(ProductError::NulCharacter {
                field: "attributes",
                ..
            })
        ));
        let mut p = sample("4");
        p.tags = vec!["a\u{0}b".into()];
        assert_eq!(
            p.validate().unwrap().tags,
            vec!["ab"],
            "lists drop control characters"
        );
    }

    #[test]
    fn category_names_come_from_slugs() {
        assert_eq!(category_name("home-decoration"), "Home Decoration");
        assert_eq!(category_name("laptops"), "Laptops");
        assert_eq!(category_name("mens_shirts"), "Mens Shirts");
    }
}
