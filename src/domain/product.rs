//! The product as the catalog stores it, independent of any wire format.

use super::attributes::Attributes;
use super::handle::{slugify, suffixed_handle};
use super::hash::{ContentHash, Hasher};
use super::id::{IdError, MAX_ID_CHARS, check_product_id};
use super::price::{Price, PriceError};
use super::variant::{Currency, MAX_VARIANTS, PriceKind, ProductOption, Variant, VariantPrice};
use chrono::{DateTime, Utc};

/// A product as the catalog keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    /// The upstream's id, as text (`17`, or an opaque string id).
    pub external_id: String,
    pub title: String,
    pub description: String,
    /// Every category, in upstream order; the first is the product's own `category_id`.
    pub categories: Vec<Category>,
    pub brand: Option<String>,
    pub tags: Vec<String>,
    pub images: Vec<String>,
    pub thumbnail: Option<String>,
    /// The other upstream fields the service keeps (dimensions, rating, meta, ...), stored as JSON.
    pub attributes: Attributes,
    /// When the upstream last changed the product (`meta.updatedAt`), if it says.
    pub source_updated_at: Option<DateTime<Utc>>,
    /// The product's options, in upstream order; none for a product sold one way.
    pub options: Vec<ProductOption>,
    /// What the product is sold as: at least one (see [`Product::single_variant`]).
    pub variants: Vec<Variant>,
    /// The currency of the source's plain prices: [`Product::price`] is in it.
    pub currency: Currency,
}

/// A category of a product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    /// e.g. `home-decoration`.
    pub slug: String,
    /// The display name when the upstream gives one; otherwise a new category is named from its
    /// slug. Not part of the content hash: it names the category, not the product.
    pub name: Option<String>,
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
    #[error("product {id}: {problem}")]
    BadVariants { id: String, problem: String },
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
    /// The one variant of a product sold one way: the product's own id, title, SKU, stock and
    /// plain price, no options.
    pub fn single_variant(
        external_id: &str,
        title: &str,
        sku: Option<String>,
        price: Option<Price>,
        stock: Option<i64>,
        currency: &Currency,
    ) -> Variant {
        Variant {
            external_id: external_id.to_owned(),
            title: title.to_owned(),
            sku,
            barcode: None,
            options: Vec::new(),
            stock,
            prices: price
                .map(|amount| VariantPrice {
                    currency: *currency,
                    kind: PriceKind::Base,
                    amount,
                    starts_at: None,
                    ends_at: None,
                })
                .into_iter()
                .collect(),
            attributes: Attributes::default(),
        }
    }

    /// The first variant's SKU.
    pub fn sku(&self) -> Option<&str> {
        self.variants.first()?.sku.as_deref()
    }

    /// The lowest base price among the variants, in the source's currency.
    pub fn price(&self) -> Option<&Price> {
        self.variants
            .iter()
            .filter_map(|v| v.price(&self.currency, PriceKind::Base))
            .map(|p| &p.amount)
            .min_by(|a, b| a.cmp_value(b))
    }

    /// The stock over all variants; `None` when no variant has a stock.
    pub fn stock(&self) -> Option<i64> {
        self.variants
            .iter()
            .filter_map(|v| v.stock)
            .reduce(i64::saturating_add)
    }

    /// The first category's slug.
    pub fn category(&self) -> Option<&str> {
        self.categories.first().map(|c| c.slug.as_str())
    }

    /// Checks the invariants every stored product satisfies, and drops empty tags and images and
    /// control characters inside them (the store joins lists with U+001F), and repeated
    /// categories. A NUL character in any other text is refused here, with the field named,
    /// because PostgreSQL refuses it in `text` and `jsonb` alike.
    pub fn validate(mut self) -> Result<Self, ProductError> {
        check_product_id(&self.external_id)?;
        if self.title.trim().is_empty() {
            return Err(ProductError::MissingTitle(self.external_id));
        }
        if let Some(stock) = self
            .variants
            .iter()
            .filter_map(|v| v.stock)
            .find(|s| *s < 0)
        {
            return Err(ProductError::NegativeStock {
                id: self.external_id,
                stock,
            });
        }
        if let Some(problem) = variants_problem(&self.variants) {
            return Err(ProductError::BadVariants {
                id: self.external_id,
                problem,
            });
        }
        let texts = [
            ("title", Some(self.title.as_str())),
            ("description", Some(self.description.as_str())),
            ("brand", self.brand.as_deref()),
            ("thumbnail", self.thumbnail.as_deref()),
        ];
        let nul = |t: &str| t.contains('\0');
        let nul_field = texts
            .into_iter()
            .find(|(_, text)| text.is_some_and(nul))
            .map(|(field, _)| field)
            .or_else(|| self.attributes.contains_nul().then_some("attributes"))
            .or_else(|| {
                self.categories
                    .iter()
                    .any(|c| nul(&c.slug) || c.name.as_deref().is_some_and(nul))
                    .then_some("category")
            })
            .or_else(|| {
                self.options
                    .iter()
                    .any(|o| nul(&o.name) || o.values.iter().any(|v| nul(v)))
                    .then_some("options")
            })
            .or_else(|| {
                self.variants
                    .iter()
                    .any(|v| {
                        [
                            Some(v.title.as_str()),
                            v.sku.as_deref(),
                            v.barcode.as_deref(),
                        ]
                        .into_iter()
                        .flatten()
                        .any(nul)
                            || v.options.iter().any(|(n, x)| nul(n) || nul(x))
                            || v.attributes.contains_nul()
                    })
                    .then_some("variants")
            });
        if let Some(field) = nul_field {
            return Err(ProductError::NulCharacter {
                id: self.external_id,
                field,
            });
        }
        clean_list(&mut self.tags);
        clean_list(&mut self.images);
        let mut slugs = std::collections::HashSet::new();
        self.categories.retain(|c| slugs.insert(c.slug.clone()));
        Ok(self)
    }

    /// The handle this product asks for: the slug of its title.
    pub fn base_handle(&self) -> String {
        slugify(&self.title)
    }

    /// Whether the product is sold one way, as every product was before options and variants:
    /// one variant built from its own fields, no options, at most one category, its price in
    /// the default currency. Such a product's content hash is the one it always had.
    fn is_single(&self) -> bool {
        let [v] = self.variants.as_slice() else {
            return false;
        };
        // The variant `single_variant` builds from the product's own fields.
        let own_price = match v.prices.as_slice() {
            [] => true,
            [p] => {
                p.kind == PriceKind::Base
                    && p.currency == self.currency
                    && p.starts_at.is_none()
                    && p.ends_at.is_none()
            }
            _ => false,
        };
        self.options.is_empty()
            && self.categories.len() <= 1
            && self.currency.as_str() == Currency::DEFAULT
            && v.external_id == self.external_id
            && v.title == self.title
            && v.barcode.is_none()
            && v.options.is_empty()
            && v.attributes.as_str() == "{}"
            && own_price
    }

    /// Fingerprint of every stored field, so an unchanged product is never rewritten: its
    /// options, variants, prices and categories included.
    pub fn content_hash(&self) -> ContentHash {
        self.hashes().0
    }

    /// The product's content hash and each variant's ([`Variant::content_hash`]), from one
    /// encoding of the product.
    pub fn hashes(&self) -> (ContentHash, Vec<ContentHash>) {
        let mut h = Hasher::new();
        h.str(&self.external_id)
            .str(&self.title)
            .str(&self.description)
            .opt_str(self.category())
            .opt_str(self.brand.as_deref())
            .opt_str(self.sku())
            .opt_str(self.price().map(Price::as_str))
            .opt_i64(self.stock())
            .strs(&self.tags)
            .strs(&self.images)
            .opt_str(self.thumbnail.as_deref())
            .str(self.attributes.as_str())
            .opt_str(self.source_updated_at.map(|t| t.to_rfc3339()).as_deref());
        if self.is_single() {
            // Sold one way, the product's own fields are its variant's: only the product's
            // hash covers them.
            let product = h.finish();
            let variants = self
                .variants
                .iter()
                .enumerate()
                .map(|(position, v)| v.content_hash(position))
                .collect();
            return (product, variants);
        }
        h.str("model").str(self.currency.as_str());
        h.opt_i64(Some(self.categories.len() as i64));
        for category in &self.categories {
            h.str(&category.slug);
        }
        h.opt_i64(Some(self.options.len() as i64));
        for option in &self.options {
            h.str(&option.name).strs(&option.values);
        }
        h.opt_i64(Some(self.variants.len() as i64));
        let mut variants = Vec::with_capacity(self.variants.len());
        for (position, variant) in self.variants.iter().enumerate() {
            let mark = h.mark();
            variant.hash_into(position, &mut h);
            variants.push(h.finish_since(mark));
        }
        (h.finish(), variants)
    }
}

/// What is wrong with a product's variants, if anything: none, too many, or an id that is
/// empty, too long or repeated.
fn variants_problem(variants: &[Variant]) -> Option<String> {
    if variants.is_empty() {
        return Some("has no variant".into());
    }
    if variants.len() > MAX_VARIANTS {
        return Some(format!(
            "has {} variants; at most {MAX_VARIANTS} are kept",
            variants.len()
        ));
    }
    let mut ids = std::collections::HashSet::with_capacity(variants.len());
    for v in variants {
        if v.external_id.is_empty() || v.external_id.chars().count() > MAX_ID_CHARS {
            return Some(format!(
                "a variant id must be 1 to {MAX_ID_CHARS} characters: {:?}",
                v.external_id.chars().take(MAX_ID_CHARS).collect::<String>()
            ));
        }
        if v.external_id.contains('\0') {
            return Some("a variant id holds a NUL character".into());
        }
        if !ids.insert(v.external_id.as_str()) {
            return Some(format!("variant id {:?} appears twice", v.external_id));
        }
        for (i, p) in v.prices.iter().enumerate() {
            if v.prices[..i]
                .iter()
                .any(|q| q.currency == p.currency && q.kind == p.kind)
            {
                return Some(format!(
                    "variant {:?} has two {} prices in {}",
                    v.external_id,
                    p.kind.as_str(),
                    p.currency.as_str()
                ));
            }
        }
    }
    None
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
    /// Each variant's content hash, in the order of `product.variants`.
    pub variant_hashes: Vec<ContentHash>,
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
        let (hash, variant_hashes) = product.hashes();
        PreparedProduct {
            hash,
            variant_hashes,
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
pub(crate) mod tests;
