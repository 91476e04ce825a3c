//! Products sold in variants: a size and a colour each, drawn from the catalog seed and the
//! product id like every other generated value, so a catalog of any size costs no memory.
//! Only a product whose variants a test changed (a price, a removal, an addition) keeps a
//! compact list: its variants' numbers, combinations and prices set by the test.
//!
//! Variant ids are `product id * 10_000 + n`, `n` counting the variants the product was ever
//! given (1, 2, …), so an id is never reused, not even after a removal.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::catalog::BASE_MS;
use super::parts::{DAY_MS, Draw};

/// The sizes, in the order a shop lists them.
pub(crate) const SIZES: [&str; 4] = ["S", "M", "L", "XL"];
/// The colours.
pub(crate) const COLORS: [&str; 5] = ["Black", "White", "Red", "Blue", "Green"];
/// Every (size, colour) combination: the most variants a product can have.
pub(crate) const MAX_VARIANTS: u32 = (SIZES.len() * COLORS.len()) as u32;
/// Variant ids are `product id * ID_SPAN + n`.
const ID_SPAN: u64 = 10_000;
/// 2031-01-01T00:00:00Z: scheduled sales and sales with an end lie after it.
const FUTURE_MS: u64 = 1_924_992_000_000;

/// One variant a product lists: its number, its (size, colour) combination and the price a
/// test gave it (`None`: the generated one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    n: u32,
    /// `size * COLORS.len() + color`.
    combo: u8,
    price: Option<Box<str>>,
}

/// A product's variants once a test changed them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VariantEdits {
    list: Vec<Listed>,
    /// The number the next added variant gets.
    next: u32,
    /// The combinations the product ever listed, one bit each.
    used: u32,
}

impl VariantEdits {
    fn find(&mut self, product: u64, variant: u64) -> Option<usize> {
        self.list
            .iter()
            .position(|v| variant_id(product, v.n) == variant)
    }

    /// Gives a variant a price (valid decimal text, see [`valid_price`]); false if the
    /// product has no such variant.
    pub(crate) fn set_price(&mut self, product: u64, variant: u64, price: &str) -> bool {
        let Some(at) = self.find(product, variant) else {
            return false;
        };
        self.list[at].price = Some(Box::from(price));
        true
    }

    /// Removes a variant; false if the product has no such variant.
    pub(crate) fn remove(&mut self, product: u64, variant: u64) -> bool {
        let Some(at) = self.find(product, variant) else {
            return false;
        };
        self.list.remove(at);
        true
    }
}

/// How the catalog's products are sold: `average` variants a product on average, 0 for one
/// way (no listed variants).
#[derive(Clone, Copy, Debug)]
pub(crate) struct VariantPlan {
    seed: u64,
    average: u32,
}

impl VariantPlan {
    pub(crate) fn new(seed: u64, average: u32) -> VariantPlan {
        VariantPlan { seed, average }
    }

    /// Whether products are generated with variants.
    pub(crate) fn is_on(self) -> bool {
        self.average > 0
    }

    fn draw(self, id: u64) -> Draw {
        Draw::new(self.seed, id)
    }

    /// How many variants product `id` is generated with: `1..=2 * average - 1` (at most
    /// [`MAX_VARIANTS`]), evenly, so `average` over the catalog.
    fn count(self, id: u64) -> u32 {
        if self.average == 0 {
            return 0;
        }
        let span = 2 * u64::from(self.average) - 1;
        let count = 1 + self.draw(id).hash(300) % span;
        u32::try_from(count.min(u64::from(MAX_VARIANTS))).unwrap_or(MAX_VARIANTS)
    }

    /// Product `id`'s combinations in the order it takes them: a shuffle of all of them.
    fn order(self, id: u64) -> [u8; MAX_VARIANTS as usize] {
        let mut order: [u8; MAX_VARIANTS as usize] = std::array::from_fn(|i| i as u8);
        let d = self.draw(id);
        for i in 0..order.len() - 1 {
            let left = (order.len() - i) as u64;
            let j = i + (d.hash(310 + i as u64) % left) as usize;
            order.swap(i, j);
        }
        order
    }

    /// The variants product `id` is generated with, in size then colour order.
    pub(crate) fn initial(self, id: u64) -> VariantEdits {
        let count = self.count(id);
        let mut combos: Vec<u8> = self.order(id)[..count as usize].to_vec();
        combos.sort_unstable();
        VariantEdits {
            used: combos.iter().fold(0, |used, &c| used | 1 << c),
            list: (1..)
                .zip(combos)
                .map(|(n, combo)| Listed {
                    n,
                    combo,
                    price: None,
                })
                .collect(),
            next: count + 1,
        }
    }

    /// The variants product `id` lists: the changed ones, or the generated ones.
    pub(crate) fn listed(self, id: u64, edits: Option<&VariantEdits>) -> Cow<'_, [Listed]> {
        match edits {
            Some(edits) => Cow::Borrowed(&edits.list),
            None if self.is_on() => Cow::Owned(self.initial(id).list),
            None => Cow::Borrowed(&[]),
        }
    }

    /// Adds a variant of a combination the product does not list: the next in its own order
    /// that it never listed, else one it listed before; its id, or `None` when every
    /// combination is listed or the ids ran out.
    pub(crate) fn add(self, id: u64, edits: &mut VariantEdits) -> Option<u64> {
        let order = self.order(id);
        let free = |c: &u8| edits.list.iter().all(|v| v.combo != *c);
        let combo = order
            .iter()
            .copied()
            .find(|&c| edits.used & (1 << c) == 0)
            .or_else(|| order.iter().copied().find(free))?;
        let n = edits.next.max(1);
        if u64::from(n) >= ID_SPAN {
            return None;
        }
        edits.list.push(Listed {
            n,
            combo,
            price: None,
        });
        edits.next = n + 1;
        edits.used |= 1 << combo;
        Some(variant_id(id, n))
    }
}

/// What a product's variants derive from: its SKU and its price in cents.
#[derive(Clone, Debug)]
pub(crate) struct Basis {
    pub sku: String,
    pub price_cents: u64,
}

/// A WooCommerce sale: its price, and the dates it runs between (`None`: open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sale {
    pub price: String,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
}

impl Sale {
    /// Whether the sale runs at `now` (milliseconds since the epoch).
    pub(crate) fn is_active(&self, now: u64) -> bool {
        self.from_ms.is_none_or(|from| from <= now) && self.to_ms.is_none_or(|to| now <= to)
    }
}

/// A variant with every value it is served with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Variant {
    pub id: u64,
    pub size: &'static str,
    pub color: &'static str,
    pub sku: String,
    /// 13 digits.
    pub barcode: u64,
    /// Exact decimal text (`12.50`).
    pub price: String,
    /// Higher than `price`, for about a third of the variants.
    pub compare_at: Option<String>,
    pub stock: u64,
    /// WooCommerce's sale, lower than `price`, for about a quarter of the variants.
    pub sale: Option<Sale>,
}

impl Variant {
    /// `S / Black`, as Shopify titles a variant.
    pub(crate) fn title(&self) -> String {
        format!("{} / {}", self.size, self.color)
    }
}

/// The id of variant `n` of product `id`.
fn variant_id(id: u64, n: u32) -> u64 {
    id.wrapping_mul(ID_SPAN).wrapping_add(u64::from(n))
}

/// The variants product `id` lists, with every value drawn.
pub(crate) fn resolve(seed: u64, id: u64, basis: &Basis, listed: &[Listed]) -> Vec<Variant> {
    let product = Draw::new(seed, id);
    listed
        .iter()
        .map(|v| {
            let d = Draw::new(product.hash(400), u64::from(v.n));
            let combo = usize::from(v.combo);
            let (size_index, color_index) = (combo / COLORS.len(), combo % COLORS.len());
            let (size, color) = (SIZES[size_index], COLORS[color_index]);
            // Larger sizes cost a little more; each variant is off by up to 5%.
            let factor = 95 + 4 * size_index as u64 + d.range(1, 0, 10);
            let generated = scale(basis.price_cents, factor).max(1);
            let price = match &v.price {
                Some(text) => text.to_string(),
                None => cents_text(generated),
            };
            let cents = to_cents(&price);
            let compare_at = cents
                .filter(|_| d.hash(2).is_multiple_of(3))
                .map(|c| cents_text(scale(c, 110 + d.range(3, 0, 40)).max(c + 1)));
            let sale = cents
                .filter(|&c| c >= 2 && d.hash(4).is_multiple_of(4))
                .map(|c| sale(d, scale(c, 70 + d.range(5, 0, 25)).clamp(1, c - 1)));
            Variant {
                id: variant_id(id, v.n),
                size,
                color,
                sku: format!("{}-{size}-{color}", basis.sku),
                barcode: d.hash(10) % 10_000_000_000_000,
                price,
                compare_at,
                stock: d.range(9, 0, 99),
                sale,
            }
        })
        .collect()
}

/// A sale at `cents`: open, started in 2025, running until a date after 2030, or scheduled
/// after 2030 (not active yet).
fn sale(d: Draw, cents: u64) -> Sale {
    let started = BASE_MS + d.range(7, 0, 300) * DAY_MS;
    let later = FUTURE_MS + d.range(8, 0, 300) * DAY_MS;
    let end_of_day = DAY_MS - 1000;
    let (from_ms, to_ms) = match d.hash(6) % 4 {
        0 => (None, None),
        1 => (Some(started), None),
        2 => (Some(started), Some(later + end_of_day)),
        _ => (Some(later), Some(later + 14 * DAY_MS + end_of_day)),
    };
    Sale {
        price: cents_text(cents),
        from_ms,
        to_ms,
    }
}

/// `cents * percent / 100`, rounded.
fn scale(cents: u64, percent: u64) -> u64 {
    let scaled = (u128::from(cents) * u128::from(percent) + 50) / 100;
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// Cents as decimal text with two decimals (`1250` → `12.50`).
pub(crate) fn cents_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Decimal text as cents, rounded down (`12.5` → `1250`, `9.999` → `999`); `None` if it is
/// not decimal text (see [`valid_price`]) or too large.
pub(crate) fn to_cents(text: &str) -> Option<u64> {
    if !valid_price(text) {
        return None;
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let two: String = frac.chars().chain(['0', '0']).take(2).collect();
    let whole: u64 = int.parse().ok()?;
    whole.checked_mul(100)?.checked_add(two.parse().ok()?)
}

/// Whether `text` is a non-negative decimal number as JSON writes one: `0`, `12`, `12.5`,
/// `12.50` (no sign, no exponent, no leading zeros).
pub(crate) fn valid_price(text: &str) -> bool {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int)
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(digits)
        && text.len() <= 64
}

/// Compares two valid decimal texts by value.
pub(crate) fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let split = |t: &str| {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        (
            int.len(),
            int.to_owned(),
            frac.trim_end_matches('0').to_owned(),
        )
    };
    split(a).cmp(&split(b))
}

#[cfg(test)]
#[path = "variants_tests.rs"]
mod tests;
