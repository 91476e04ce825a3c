//! The one mapping from an upstream record to a product, for every source: the built-in
//! DummyJSON source is the `dummyjson` preset read by the same `[fields]` as any source file.
//!
//! A record is read borrowed: split once into its members ([`RawRecord`]), each mapped field
//! decoded straight from its raw text (prices never pass through `f64`), and no JSON tree
//! built but for the members kept as attributes.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::InvalidProduct;
use crate::domain::{Attributes, Product};
use crate::source::{Fields, Pointer, RawRecord, Text};
pub(crate) use values::timestamp;
use values::{list_item, scalar};

/// Converts one record to a product; a record that is not one fails alone, with its id when
/// it has a readable one.
pub fn product(fields: &Fields, raw: &RawValue) -> Result<Product, InvalidProduct> {
    product_with(fields, raw.get(), None)
}

/// Converts one record (the text of a JSON object) to a product whose variants, when given,
/// are the records of `variants` (a JSON array fetched from the source's variants endpoint).
pub fn product_with(
    fields: &Fields,
    record: &str,
    variants: Option<&RawValue>,
) -> Result<Product, InvalidProduct> {
    let record = RawRecord::split(record).map_err(|e| InvalidProduct {
        product_id: None,
        message: format!("the record is not a JSON object: {e}"),
    })?;
    Mapped {
        fields,
        record: &record,
        fetched: variants,
    }
    .product()
}

/// Whether `raw` lists variant ids whose records come from the source's variants endpoint (a
/// non-empty list at `variants.records`).
pub fn lists_variant_ids(fields: &Fields, raw: &RawValue) -> bool {
    let Some(pointer) = fields
        .variants
        .as_ref()
        .filter(|v| v.endpoint.is_some())
        .and_then(|v| v.records.as_ref())
    else {
        return false;
    };
    RawRecord::parse(raw)
        .ok()
        .and_then(|r| pointer.first_in(&r).ok().flatten())
        .is_some_and(|list| {
            let list = list.get();
            list.starts_with('[') && list[1..].trim_start() != "]"
        })
}

/// What an event-carried record lacks: every mapped field and every listed attribute must be
/// there (`null` and `[]` are values), but those `may_omit` names and the update time. Applying a partial record
/// would wipe what it leaves out.
pub fn missing_for_event(fields: &Fields, may_omit: &[String], raw: &RawValue) -> Vec<String> {
    let Ok(record) = RawRecord::parse(raw) else {
        return vec!["the whole record (not a JSON object)".into()];
    };
    // Without its update time a record is versionless, not partial: its state is not trusted
    // and the product is fetched instead (the integrity rules' event versions).
    let omittable = |name: &str| name == "updated_at" || may_omit.iter().any(|m| m == name);
    let mut missing: Vec<String> = fields
        .named()
        .filter(|(name, pointer)| !omittable(name) && !pointer.reaches_in(&record))
        .map(|(name, pointer)| format!("{name} at {pointer}"))
        .collect();
    // A record without its variants or options would be read as sold one way.
    let lists = [
        (
            "variants",
            fields.variants.as_ref().and_then(|v| v.records.as_ref()),
        ),
        ("options", fields.options.as_ref().map(|o| &o.records)),
    ];
    for (name, pointer) in lists {
        if let Some(pointer) = pointer.filter(|p| !omittable(name) && !p.reaches_in(&record)) {
            missing.push(format!("{name} at {pointer}"));
        }
    }
    if let Some(kept) = &fields.attributes {
        missing.extend(
            kept.iter()
                .filter(|key| !omittable(key) && record.get(key).is_none())
                .cloned(),
        );
    }
    missing
}

/// The id of a record: a string, or an integer written as text. When the id is the record's
/// first member (as most APIs write it), only that member is read.
pub fn record_id(fields: &Fields, raw: &RawValue) -> Option<String> {
    if let Some(key) = fields.external_id.single_key()
        && let Some(id) = leading_member(raw.get(), key)
    {
        return id_text(id);
    }
    let record = RawRecord::parse(raw).ok()?;
    fields
        .external_id
        .first_in(&record)
        .ok()?
        .and_then(|v| id_text(v.get()))
}

/// The raw value of `{"key": value, ...` when `key` is written first and plainly.
fn leading_member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest
        .strip_prefix('"')?
        .strip_prefix(key)?
        .strip_prefix('"')?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    if let Some(body) = rest.strip_prefix('"') {
        // A string id: up to its closing quote, escapes left to the full reader.
        let end = body.find(['"', '\\'])?;
        return (body.as_bytes()[end] == b'"').then(|| &rest[..end + 2]);
    }
    let end = rest.find([',', '}'])?;
    Some(rest[..end].trim_end())
}

fn id_text(raw: &str) -> Option<String> {
    if raw.starts_with('"') {
        return serde_json::from_str::<Text>(raw)
            .ok()
            .map(|t| t.0.into_owned());
    }
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| raw.to_owned())
}

/// One record (a product, or one of its variants) being mapped.
struct Mapped<'f, 'r, 'a> {
    fields: &'f Fields,
    record: &'r RawRecord<'a>,
    /// The product's variants fetched from their own endpoint, when the source does.
    fetched: Option<&'a RawValue>,
}

impl<'a> Mapped<'_, '_, 'a> {
    fn product(&self) -> Result<Product, InvalidProduct> {
        let fields = self.fields;
        let id = self.one(&fields.external_id).and_then(|v| id_text(v.get()));
        let invalid = |message: String| InvalidProduct {
            product_id: id.clone(),
            message,
        };
        let Some(external_id) = id.clone() else {
            return Err(invalid(format!(
                "the record has no id at {}",
                fields.external_id
            )));
        };
        let source_updated_at = match self.opt(fields.updated_at.as_ref()) {
            None => None,
            Some(raw) => Some(timestamp(raw.get()).ok_or_else(|| {
                invalid(format!(
                    "product {external_id} has an update time that is not RFC 3339, ISO 8601 or unix seconds: {}",
                    raw.get()
                ))
            })?),
        };
        let attributes = self
            .attributes(
                &taken_keys(fields.all().chain(fields.model_lists())),
                fields.attributes.as_deref(),
            )
            .map_err(|e| invalid(format!("cannot read the record: {e}")))?;
        let title = self.text(Some(&fields.title)).unwrap_or_default();
        let (options, variants) = self.model(&external_id, &title).map_err(invalid)?;
        Product {
            description: self.text(fields.description.as_ref()).unwrap_or_default(),
            categories: self.categories(),
            brand: self.text(fields.brand.as_ref()),
            tags: self.list(fields.tags.as_ref(), true),
            images: self.list(fields.images.as_ref(), false),
            thumbnail: self.text(fields.thumbnail.as_ref()),
            attributes,
            source_updated_at,
            options,
            variants,
            currency: fields.currency,
            title,
            external_id,
        }
        .validate()
        .map_err(|e| invalid(e.to_string()))
    }

    /// The first value that is not null at `pointer`. The record was split out of valid JSON,
    /// so a value the pointer cannot parse is taken as absent.
    fn one(&self, pointer: &Pointer) -> Option<&'a RawValue> {
        pointer.first_in(self.record).ok().flatten()
    }

    fn opt(&self, pointer: Option<&Pointer>) -> Option<&'a RawValue> {
        self.one(pointer?)
    }

    /// Every value `pointer` selects, nulls left out.
    fn all(&self, pointer: &Pointer) -> Vec<&'a RawValue> {
        let mut selected = Vec::new();
        if pointer.select_in(self.record, &mut selected).is_err() {
            return Vec::new();
        }
        selected.retain(|v| v.get() != "null");
        selected
    }

    /// The text at `pointer`: a string (empty counts as absent), or a number or boolean as
    /// written.
    fn text(&self, pointer: Option<&Pointer>) -> Option<String> {
        text(self.opt(pointer)?)
    }

    /// Every text the pointer selects; an array selected whole gives its elements, and for
    /// tags one string gives its comma-separated parts (`"a, b"`, as some shops write them).
    fn list(&self, pointer: Option<&Pointer>, split_commas: bool) -> Vec<String> {
        let Some(pointer) = pointer else {
            return Vec::new();
        };
        let mut items = Vec::new();
        for raw in self.all(pointer) {
            let text = raw.get();
            if text.starts_with('[') {
                let elements: Vec<&RawValue> = serde_json::from_str(text).unwrap_or_default();
                items.extend(elements.iter().filter_map(|e| list_item(e.get())));
            } else if split_commas && text.starts_with('"') {
                if let Ok(Text(s)) = serde_json::from_str::<Text>(text) {
                    items.extend(s.split(',').map(|t| t.trim().to_owned()));
                }
            } else {
                items.extend(list_item(text));
            }
        }
        items.retain(|item| !item.is_empty());
        items
    }

    /// The record without the members `taken` (see [`taken_keys`]) and without nulls; with
    /// `keep` set, only the members it lists.
    fn attributes(
        &self,
        taken: &[&str],
        keep: Option<&[String]>,
    ) -> Result<Attributes, serde_json::Error> {
        let mut map = Map::new();
        for (key, raw) in self.record.members() {
            let taken = taken.contains(&key);
            let listed = keep.is_none_or(|kept| kept.iter().any(|k| k == key));
            if taken || !listed || raw.get() == "null" {
                continue;
            }
            map.insert(key.to_owned(), serde_json::from_str::<Value>(raw.get())?);
        }
        Ok(Attributes::from_map(&map))
    }
}

/// The members `pointers` take whole (`/title`, `/tags/*`), which are not kept again as
/// attributes. Members a pointer only reaches into (`/variants/0/sku`, `/images/*/src`) stay,
/// so nothing the mapping does not keep is lost.
fn taken_keys<'p>(pointers: impl Iterator<Item = &'p Pointer>) -> Vec<&'p str> {
    pointers
        .filter(|p| p.takes_whole_field())
        .filter_map(Pointer::top_key)
        .collect()
}

/// A string (empty counts as absent), or a number or boolean as written.
fn text(raw: &RawValue) -> Option<String> {
    let raw = raw.get();
    match raw.as_bytes().first()? {
        b'"' => {
            let text = serde_json::from_str::<Text>(raw).ok()?.0;
            (!text.trim().is_empty()).then(|| text.into_owned())
        }
        b'{' | b'[' => None,
        _ => scalar(raw),
    }
}

mod model;
#[cfg(test)]
mod tests;
mod values;
