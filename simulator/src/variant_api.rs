//! Reading and changing a product's variants: [`SimVariant`], the [`Simulator`] methods and
//! the changes the admin routes make. Every change is an upstream change of the product: its
//! version moves on as with [`Simulator::mutate`].

use serde::Serialize;

use super::Simulator;
use super::clock::{now_ms, woo_time};
use super::server::Shared;
use super::variants::{Variant, valid_price};

/// A variant as a test sees it: the values every shape serves it with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimVariant {
    /// Unique over the catalog and never reused: `product id * 10_000 + n`.
    pub id: u64,
    /// `S`, `M`, `L` or `XL` (option 1).
    pub size: String,
    /// `Black`, `White`, `Red`, `Blue` or `Green` (option 2).
    pub color: String,
    /// `{product sku}-{size}-{color}`.
    pub sku: String,
    /// 13 digits.
    pub barcode: String,
    /// Exact decimal text (`12.50`), as Shopify and WooCommerce (`regular_price`) serve it.
    pub price: String,
    /// Higher than `price` (DummyJSON and Shopify shapes), or none.
    pub compare_at_price: Option<String>,
    pub stock: u64,
    /// WooCommerce's `sale_price`: lower than `price`, or none.
    pub sale_price: Option<String>,
    /// WooCommerce's `date_on_sale_from_gmt` (`2025-03-01T00:00:00`), none for an open start.
    pub date_on_sale_from: Option<String>,
    /// WooCommerce's `date_on_sale_to_gmt`, none for an open end.
    pub date_on_sale_to: Option<String>,
    /// Whether the sale runs now: WooCommerce then sells the variation at `sale_price`.
    pub on_sale: bool,
}

impl SimVariant {
    fn new(v: Variant, now: u64) -> SimVariant {
        let sale = v.sale.as_ref();
        SimVariant {
            id: v.id,
            size: v.size.to_owned(),
            color: v.color.to_owned(),
            barcode: format!("{:013}", v.barcode),
            compare_at_price: v.compare_at.clone(),
            stock: v.stock,
            sale_price: sale.map(|s| s.price.clone()),
            date_on_sale_from: sale.and_then(|s| s.from_ms).map(woo_time),
            date_on_sale_to: sale.and_then(|s| s.to_ms).map(woo_time),
            on_sale: sale.is_some_and(|s| s.is_active(now)),
            sku: v.sku,
            price: v.price,
        }
    }
}

/// A change to one product's variants.
#[derive(Clone, Copy, Debug)]
pub(crate) enum VariantChange<'a> {
    /// Give variant `id` this price (decimal text).
    Price(u64, &'a str),
    /// Remove variant `id`.
    Remove(u64),
    /// Add a variant of a (size, colour) combination the product does not list yet.
    Add,
}

/// Why a variant change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VariantRefusal {
    /// The product is absent or deleted.
    NotLive,
    /// The product lists no variant with that id.
    NoVariant,
    /// The price is not decimal text (`12.34`).
    InvalidPrice,
    /// Every (size, colour) combination is listed already.
    NoCombinationLeft,
}

impl Shared {
    /// A live product's variants, `None` if it is not live.
    pub(crate) fn sim_variants(&self, id: u64) -> Option<Vec<SimVariant>> {
        let spec = self.catalog().spec(id)?;
        let now = now_ms();
        let variants = self.products.variants(&spec);
        Some(
            variants
                .into_iter()
                .map(|v| SimVariant::new(v, now))
                .collect(),
        )
    }

    /// Applies `change` to a live product's variants as one upstream change; the id of the
    /// variant changed (or added).
    pub(crate) fn change_variant(
        &self,
        id: u64,
        change: VariantChange<'_>,
    ) -> Result<u64, VariantRefusal> {
        if let VariantChange::Price(_, price) = change
            && !valid_price(price)
        {
            return Err(VariantRefusal::InvalidPrice);
        }
        let plan = self.products.plan;
        let mut catalog = self.catalog_mut();
        if !catalog.is_live(id) {
            return Err(VariantRefusal::NotLive);
        }
        let initial = || plan.initial(id);
        let changed = catalog.edit_variants(id, initial, |edits| match change {
            VariantChange::Price(variant, price) => {
                edits.set_price(id, variant, price).then_some(variant)
            }
            VariantChange::Remove(variant) => edits.remove(id, variant).then_some(variant),
            VariantChange::Add => plan.add(id, edits),
        });
        changed.ok_or(match change {
            VariantChange::Add => VariantRefusal::NoCombinationLeft,
            _ => VariantRefusal::NoVariant,
        })
    }
}

impl Simulator {
    /// A live product's variants, in the order every shape lists them; empty if the product
    /// is sold one way (the simulator's `variants` is 0 and none was added) or not live.
    pub fn variants(&self, id: u64) -> Vec<SimVariant> {
        self.shared.sim_variants(id).unwrap_or_default()
    }

    /// Gives a variant a new price, exact decimal text (`"12.34"`, `"0.5"`, no sign or
    /// exponent), served as given; its compare-at and sale prices follow it. Bumps the
    /// product's version like [`Simulator::mutate`]. False if the product is not live, does
    /// not list that variant, or the price is not decimal text.
    pub fn set_variant_price(&self, id: u64, variant_id: u64, price: &str) -> bool {
        self.shared
            .change_variant(id, VariantChange::Price(variant_id, price))
            .is_ok()
    }

    /// Removes a variant (its id is never reused). Bumps the product's version like
    /// [`Simulator::mutate`]. False if the product is not live or does not list that variant.
    pub fn remove_variant(&self, id: u64, variant_id: u64) -> bool {
        self.shared
            .change_variant(id, VariantChange::Remove(variant_id))
            .is_ok()
    }

    /// Adds a variant of a (size, colour) combination the product does not list yet, with a
    /// new id; works on a product sold one way too (it becomes its first variant). Bumps the
    /// product's version like [`Simulator::mutate`]. `None` if the product is not live or
    /// lists all 20 combinations already.
    pub fn add_variant(&self, id: u64) -> Option<u64> {
        self.shared.change_variant(id, VariantChange::Add).ok()
    }
}
