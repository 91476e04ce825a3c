//! What a product is sold as: its options (Size: S, M, L), its variants (one SKU, stock and
//! price list each) and the prices of a variant in several currencies and kinds.

use chrono::{DateTime, Utc};

use super::attributes::Attributes;
use super::hash::{ContentHash, Hasher};
use super::price::Price;

/// Most variants one product may have.
pub const MAX_VARIANTS: usize = 2048;

/// One option of a product, its values in upstream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

/// An ISO 4217 currency code, lower case (`eur`), kept inline: a price costs no allocation
/// for its currency.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The currency of plain prices when a source names none.
    pub const DEFAULT: &'static str = "eur";

    /// Three ASCII letters, in either case.
    pub fn parse(text: &str) -> Result<Currency, String> {
        match text.trim().as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|b| b.is_ascii_alphabetic()) => Ok(Currency([
                a.to_ascii_lowercase(),
                b.to_ascii_lowercase(),
                c.to_ascii_lowercase(),
            ])),
            _ => Err(format!(
                "{text:?} is not an ISO 4217 currency code (three letters, e.g. \"eur\")"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        // Three lower-case ASCII letters, as `parse` made them.
        std::str::from_utf8(&self.0).unwrap_or(Self::DEFAULT)
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency(*b"eur")
    }
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Currency({:?})", self.as_str())
    }
}

/// What a price is: the regular one, the struck-through "was" price, or a sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PriceKind {
    Base,
    CompareAt,
    Sale,
}

impl PriceKind {
    pub const ALL: [PriceKind; 3] = [PriceKind::Base, PriceKind::CompareAt, PriceKind::Sale];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceKind::Base => "base",
            PriceKind::CompareAt => "compare_at",
            PriceKind::Sale => "sale",
        }
    }

    pub fn parse(text: &str) -> Option<PriceKind> {
        PriceKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One price of a variant; a variant has at most one per currency and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantPrice {
    pub currency: Currency,
    pub kind: PriceKind,
    pub amount: Price,
    /// When a sale starts and ends, if it says.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// One variant of a product.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The upstream's variant id, unique within its product.
    pub external_id: String,
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// Option name to value (`Size` → `M`), in the order of the product's options.
    pub options: Vec<(String, String)>,
    pub stock: Option<i64>,
    pub prices: Vec<VariantPrice>,
    /// The variant's other upstream fields, as JSON.
    pub attributes: Attributes,
}

impl Variant {
    /// The variant's price of `kind` in `currency`.
    pub fn price(&self, currency: &Currency, kind: PriceKind) -> Option<&VariantPrice> {
        self.prices
            .iter()
            .find(|p| p.kind == kind && &p.currency == currency)
    }

    /// Fingerprint of every stored field of the variant at `position`, so a variant that did
    /// not change is never rewritten.
    pub fn content_hash(&self, position: usize) -> ContentHash {
        let mut h = Hasher::new();
        self.hash_into(position, &mut h);
        h.finish()
    }

    pub(crate) fn hash_into(&self, position: usize, h: &mut Hasher) {
        h.str(&self.external_id)
            .opt_i64(Some(position as i64))
            .str(&self.title)
            .opt_str(self.sku.as_deref())
            .opt_str(self.barcode.as_deref())
            .opt_i64(self.stock)
            .str(self.attributes.as_str());
        h.opt_i64(Some(self.options.len() as i64));
        for (name, value) in &self.options {
            h.str(name).str(value);
        }
        let key = |p: &&VariantPrice| (p.currency, p.kind);
        let mut prices: Vec<&VariantPrice> = self.prices.iter().collect();
        if !prices.is_sorted_by_key(key) {
            prices.sort_by_key(key);
        }
        h.opt_i64(Some(prices.len() as i64));
        for p in prices {
            h.str(p.currency.as_str())
                .str(p.kind.as_str())
                .str(p.amount.as_str())
                .opt_str(p.starts_at.map(|t| t.to_rfc3339()).as_deref())
                .opt_str(p.ends_at.map(|t| t.to_rfc3339()).as_deref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant() -> Variant {
        Variant {
            external_id: "v1".into(),
            title: "S / Black".into(),
            sku: Some("TEE-S-BLK".into()),
            barcode: None,
            options: vec![
                ("Size".into(), "S".into()),
                ("Color".into(), "Black".into()),
            ],
            stock: Some(4),
            prices: vec![
                VariantPrice {
                    currency: Currency::default(),
                    kind: PriceKind::Base,
                    amount: Price::parse("20.00").unwrap(),
                    starts_at: None,
                    ends_at: None,
                },
                VariantPrice {
                    currency: Currency::parse("USD").unwrap(),
                    kind: PriceKind::Sale,
                    amount: Price::parse("18").unwrap(),
                    starts_at: None,
                    ends_at: None,
                },
            ],
            attributes: Attributes::default(),
        }
    }

    #[test]
    fn currencies_are_three_letters_in_lower_case() {
        assert_eq!(Currency::parse(" EUR ").unwrap().as_str(), "eur");
        for bad in ["", "euro", "e1r", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_variants_hash_sees_every_field_but_not_the_order_of_its_prices() {
        let a = variant();
        assert_eq!(a.content_hash(0), variant().content_hash(0));
        assert_ne!(a.content_hash(0), a.content_hash(1), "position");
        let mut b = variant();
        b.prices.reverse();
        assert_eq!(a.content_hash(0), b.content_hash(0));
        let mut c = variant();
        c.prices[1].amount = Price::parse("17").unwrap();
        assert_ne!(a.content_hash(0), c.content_hash(0));
        let mut d = variant();
        d.options[0].1 = "M".into();
        assert_ne!(a.content_hash(0), d.content_hash(0));
        let eur = Currency::default();
        assert_eq!(
            a.price(&eur, PriceKind::Base).unwrap().amount.as_str(),
            "20.00"
        );
        assert!(a.price(&eur, PriceKind::Sale).is_none());
    }
}
