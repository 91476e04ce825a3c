//! What differs between a linked Medusa product and the catalog, field by field.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::answers::Listed;
use super::super::payload::{self, Raw};
use crate::domain::Price;
use crate::store::OwedProduct;

/// The fields whose drift has the product's variants checked and rewritten at its next push.
pub const VARIANT_FIELDS: [&str; 7] = [
    "options",
    "variants",
    "variant_title",
    "sku",
    "barcode",
    "variant_options",
    "price",
];

/// The owned fields whose Medusa copy `listed` differs from what the catalog wants of `owed`
/// (with `raw`, its checked parts). Sets are compared as sets (Medusa keeps no order of tags,
/// categories, images or options the sink relies on), text that may be empty as text, amounts
/// as decimals and metadata as JSON values (Medusa writes `2.50` as `2.5`).
pub fn differences(owed: &OwedProduct, raw: &Raw, listed: &Listed) -> Vec<&'static str> {
    let product = &owed.product;
    let mut fields = Vec::new();
    let mut check = |field: &'static str, same: bool| {
        if !same && !fields.contains(&field) {
            fields.push(field);
        }
    };
    let status = if owed.archived { "draft" } else { "published" };
    check(
        "external_id",
        listed.external_id.as_deref() == Some(&product.external_id),
    );
    check("handle", listed.handle.as_deref() == Some(&raw.handle));
    check("title", listed.title.as_deref() == Some(&product.title));
    check(
        "description",
        listed.description.as_deref().unwrap_or_default() == product.description,
    );
    check("status", listed.status.as_deref() == Some(status));
    check(
        "thumbnail",
        non_empty(listed.thumbnail.as_deref()) == non_empty(product.thumbnail.as_deref()),
    );
    check(
        "images",
        set(listed.images.iter().map(|i| i.url.as_str())) == set(product.images.iter()),
    );
    check(
        "tags",
        set(listed.tags.iter().map(|t| t.value.as_str())) == set(product.tags.iter()),
    );
    check(
        "categories",
        set(listed.categories.iter().map(|c| c.handle.as_str()))
            == set(product.categories.iter().map(|c| c.slug.as_str())),
    );
    let options: BTreeMap<&str, BTreeSet<&str>> = listed
        .options
        .iter()
        .map(|o| {
            (
                o.title.as_str(),
                set(o.values.iter().map(|v| v.value.as_str())),
            )
        })
        .collect();
    let wanted: BTreeMap<&str, BTreeSet<&str>> = raw
        .shape
        .options
        .iter()
        .map(|(title, values)| (title.as_str(), set(values.iter())))
        .collect();
    check("options", options == wanted);
    let ours: BTreeSet<&str> = owed
        .variants
        .iter()
        .filter_map(|v| v.medusa_id.as_deref())
        .collect();
    check(
        "variants",
        ours.len() == owed.variants.len()
            && set(listed.variants.iter().map(|v| v.id.as_str())) == ours,
    );
    for (i, v) in owed.variants.iter().enumerate() {
        let Some(variant) = listed
            .variants
            .iter()
            .find(|l| Some(l.id.as_str()) == v.medusa_id.as_deref())
        else {
            continue;
        };
        let catalog = &product.variants[i];
        let shape = &raw.shape.variants[i];
        check(
            "variant_title",
            variant.title.as_deref() == Some(shape.title.as_str()),
        );
        check("sku", variant.sku.as_deref() == catalog.sku.as_deref());
        check(
            "barcode",
            non_empty(variant.barcode.as_deref()) == non_empty(catalog.barcode.as_deref()),
        );
        let map: BTreeMap<&str, &str> = shape
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        check("variant_options", variant.option_map() == map);
        let amounts: BTreeSet<(String, Option<String>)> = variant
            .prices
            .iter()
            .map(|p| {
                (
                    p.currency_code.to_ascii_lowercase(),
                    decimal(p.amount.get()),
                )
            })
            .collect();
        let wanted: BTreeSet<(String, Option<String>)> = raw.variants[i]
            .prices
            .iter()
            .map(|(currency, amount)| (currency.clone(), decimal(amount.get())))
            .collect();
        check("price", amounts == wanted);
    }
    let metadata = payload::owned_metadata(owed, raw);
    let empty = serde_json::Map::new();
    let theirs = listed.metadata.as_ref().unwrap_or(&empty);
    let same = metadata.as_object().is_some_and(|ours| {
        ours.iter()
            .all(|(key, value)| same_json(value, theirs.get(key).unwrap_or(&Value::Null)))
    });
    check("metadata", same);
    fields
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.is_empty())
}

fn set<'a, S: AsRef<str> + ?Sized + 'a>(items: impl Iterator<Item = &'a S>) -> BTreeSet<&'a str> {
    items.map(AsRef::as_ref).collect()
}

/// A decimal's value in one notation: `19.50`, `19.5` and `1.95e1` are `19.5`.
pub(super) fn decimal(text: &str) -> Option<String> {
    let plain = Price::parse(text).ok()?;
    let plain = plain.as_str();
    if !plain.contains('.') {
        return Some(plain.to_owned());
    }
    Some(plain.trim_end_matches('0').trim_end_matches('.').to_owned())
}

/// JSON values that mean the same once through Medusa: numbers by value (JavaScript writes
/// `2.50` as `2.5` and `1e2` as `100`), and a missing key the same as `null`.
pub(super) fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).all(|key| {
            same_json(
                x.get(key).unwrap_or(&Value::Null),
                y.get(key).unwrap_or(&Value::Null),
            )
        }),
        _ => a == b,
    }
}
