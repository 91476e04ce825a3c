//! A product's model read from its record: its categories, its options and its variants with
//! their prices. A source without `[variants]` sells every product one way: one variant from
//! the product's own price, SKU and stock.

use serde_json::value::RawValue;

use super::values::{integer, is_empty_string, timestamp};
use super::{Mapped, id_text, taken_keys, text};
use crate::domain::{
    Category, Price, Product, ProductError, ProductOption, Variant, VariantPrice, slugify,
};
use crate::source::{Pointer, RawRecord, VariantFields, VariantOptions};
use crate::upstream::wire::exact_price;

impl<'a> Mapped<'_, '_, 'a> {
    /// Every category in upstream order: `category` may select several (`/categories/*/slug`),
    /// `category_name` their names by position. A category given by name (not a slug) is
    /// slugged and is its own display name.
    pub(super) fn categories(&self) -> Vec<Category> {
        let Some(pointer) = self.fields.category.as_ref() else {
            return Vec::new();
        };
        let names: Vec<Option<String>> = match &self.fields.category_name {
            Some(p) => self.all(p).into_iter().map(text).collect(),
            None => Vec::new(),
        };
        self.all(pointer)
            .into_iter()
            .enumerate()
            .filter_map(|(i, raw)| {
                let value = text(raw)?;
                let slug = slugify(&value);
                let name = names
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| (slug != value).then_some(value));
                Some(Category { slug, name })
            })
            .collect()
    }

    /// The product's options and variants.
    pub(super) fn model(
        &self,
        id: &str,
        title: &str,
    ) -> Result<(Vec<ProductOption>, Vec<Variant>), String> {
        let options = self.options();
        // Shopify's placeholder option of a product sold one way means no options.
        let placeholder =
            matches!(options.as_slice(), [o] if o.name == "Title" && o.values == ["Default Title"]);
        let options = if placeholder { Vec::new() } else { options };
        let Some(fields) = &self.fields.variants else {
            let price = self.price(self.fields.price.as_ref(), id)?;
            let stock = self.stock(self.fields.stock.as_ref(), id)?;
            let sku = self.text(self.fields.sku.as_ref());
            let variant =
                Product::single_variant(id, title, sku, price, stock, &self.fields.currency);
            return Ok((options, vec![variant]));
        };
        let elements = match (self.fetched, &fields.records) {
            (Some(fetched), _) => elements(vec![fetched]),
            // Listed ids without their records: the product has no variants of its own.
            (None, _) if fields.endpoint.is_some() => Vec::new(),
            (None, Some(pointer)) => elements(self.all(pointer)),
            (None, None) => Vec::new(),
        };
        if elements.is_empty() {
            // A record with no variant list is its own one variant.
            let mut variant = self.variant(fields, &options, placeholder, id, title)?;
            variant.external_id = id.to_owned();
            return Ok((options, vec![variant]));
        }
        let taken = taken_keys(variant_pointers(fields));
        let mut variants = Vec::with_capacity(elements.len());
        let mut record = RawRecord::default();
        for (i, element) in elements.into_iter().enumerate() {
            record
                .resplit(element)
                .map_err(|_| format!("product {id}: variant {} is not a JSON object", i + 1))?;
            let variant = Mapped {
                fields: self.fields,
                record: &record,
                fetched: None,
            };
            let mut v = variant.variant(fields, &options, placeholder, id, title)?;
            v.attributes = variant
                .attributes(&taken, fields.attributes.as_deref())
                .map_err(|e| format!("product {id}: cannot read variant {}: {e}", i + 1))?;
            if v.external_id.is_empty() {
                return Err(format!(
                    "product {id}: variant {} has no id at {}",
                    i + 1,
                    fields.external_id
                ));
            }
            variants.push(v);
        }
        Ok((options, variants))
    }

    fn options(&self) -> Vec<ProductOption> {
        let Some(fields) = &self.fields.options else {
            return Vec::new();
        };
        elements(self.all(&fields.records))
            .into_iter()
            .filter_map(|element| {
                let record = RawRecord::parse(element).ok()?;
                let option = Mapped {
                    fields: self.fields,
                    record: &record,
                    fetched: None,
                };
                Some(ProductOption {
                    name: option.text(Some(&fields.name))?,
                    values: option.list(Some(&fields.values), false),
                })
            })
            .collect()
    }

    /// This record read as one variant of product `id` (its id left empty when it has none).
    fn variant(
        &self,
        fields: &VariantFields,
        options: &[ProductOption],
        placeholder: bool,
        id: &str,
        product_title: &str,
    ) -> Result<Variant, String> {
        let pairs: Vec<(String, String)> = if placeholder {
            Vec::new()
        } else {
            match &fields.options {
                VariantOptions::None => Vec::new(),
                VariantOptions::ByPosition(pointers) => pointers
                    .iter()
                    .zip(options)
                    .filter_map(|(p, o)| Some((o.name.clone(), self.text(Some(p))?)))
                    .collect(),
                VariantOptions::Pairs { list, name, value } => elements(self.all(list))
                    .into_iter()
                    .filter_map(|element| {
                        let record = RawRecord::parse(element).ok()?;
                        let pair = Mapped {
                            fields: self.fields,
                            record: &record,
                            fetched: None,
                        };
                        Some((pair.text(Some(name))?, pair.text(Some(value))?))
                    })
                    .collect(),
            }
        };
        let title = self.text(fields.title.as_ref()).unwrap_or_else(|| {
            if pairs.is_empty() {
                product_title.to_owned()
            } else {
                pairs
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ")
            }
        });
        let mut prices = Vec::with_capacity(fields.prices.len());
        for field in &fields.prices {
            let Some(amount) = self.price(Some(&field.amount), id)? else {
                continue;
            };
            prices.push(VariantPrice {
                currency: field.currency.unwrap_or(self.fields.currency),
                kind: field.kind,
                amount,
                starts_at: self.time(field.starts_at.as_ref(), id)?,
                ends_at: self.time(field.ends_at.as_ref(), id)?,
            });
        }
        Ok(Variant {
            external_id: self
                .one(&fields.external_id)
                .and_then(|v| id_text(v.get()))
                .unwrap_or_default(),
            title,
            sku: self.text(fields.sku.as_ref()),
            barcode: self.text(fields.barcode.as_ref()),
            options: pairs,
            stock: self.stock(fields.stock.as_ref(), id)?,
            prices,
            attributes: Default::default(),
        })
    }

    /// The price at `pointer`: a JSON number or a numeric string, exactly; absent, null or
    /// `""` is no price.
    fn price(&self, pointer: Option<&Pointer>, id: &str) -> Result<Option<Price>, String> {
        match self.opt(pointer).filter(|v| !is_empty_string(v)) {
            None => Ok(None),
            Some(raw) => exact_price(raw.get())
                .map(Some)
                .map_err(|(text, reason)| ProductError::bad_price(id, &text, reason).to_string()),
        }
    }

    fn stock(&self, pointer: Option<&Pointer>, id: &str) -> Result<Option<i64>, String> {
        match self.opt(pointer) {
            None => Ok(None),
            Some(raw) => integer(raw.get()).map(Some).ok_or_else(|| {
                format!(
                    "product {id} has a stock that is not a whole number: {}",
                    raw.get()
                )
            }),
        }
    }

    fn time(
        &self,
        pointer: Option<&Pointer>,
        id: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
        match self.opt(pointer).filter(|v| !is_empty_string(v)) {
            None => Ok(None),
            Some(raw) => timestamp(raw.get()).map(Some).ok_or_else(|| {
                format!(
                    "product {id} has a sale time that is not RFC 3339, ISO 8601 or unix seconds: {}",
                    raw.get()
                )
            }),
        }
    }
}

/// The elements selected: an array selected whole gives its elements.
fn elements(selected: Vec<&RawValue>) -> Vec<&RawValue> {
    let mut out = Vec::with_capacity(selected.len());
    for raw in selected {
        if raw.get().starts_with('[') {
            out.extend(serde_json::from_str::<Vec<&RawValue>>(raw.get()).unwrap_or_default());
        } else {
            out.push(raw);
        }
    }
    out
}

/// Every pointer into one variant.
fn variant_pointers(fields: &VariantFields) -> impl Iterator<Item = &Pointer> {
    let options: Vec<&Pointer> = match &fields.options {
        VariantOptions::None => Vec::new(),
        VariantOptions::ByPosition(pointers) => pointers.iter().collect(),
        VariantOptions::Pairs { list, .. } => vec![list],
    };
    [
        Some(&fields.external_id),
        fields.title.as_ref(),
        fields.sku.as_ref(),
        fields.barcode.as_ref(),
        fields.stock.as_ref(),
    ]
    .into_iter()
    .flatten()
    .chain(options)
    .chain(fields.prices.iter().flat_map(|p| {
        [Some(&p.amount), p.starts_at.as_ref(), p.ends_at.as_ref()]
            .into_iter()
            .flatten()
    }))
}

#[cfg(test)]
mod tests;
