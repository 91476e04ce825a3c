//! A source's field mapping: one upstream record (raw JSON) to a product, by the JSON Pointers
//! of its `[fields]`. Prices are read from the raw text, so their digits never pass through
//! `f64`; the record's fields that no pointer takes whole are kept as the product's attributes.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::InvalidProduct;
use super::wire::exact_price;
use crate::domain::{Attributes, Product, ProductError, slugify};
use crate::source::{Fields, Pointer};

/// Converts one record to a product; a record that is not one fails alone, with its id when
/// it has a readable one.
pub fn product(fields: &Fields, raw: &RawValue) -> Result<Product, InvalidProduct> {
    let record: Value = serde_json::from_str(raw.get()).map_err(|e| InvalidProduct {
        product_id: None,
        message: format!("not a JSON record: {e}"),
    })?;
    let id = external_id(fields, &record);
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
    let Value::Object(object) = &record else {
        return Err(invalid("the record is not a JSON object".into()));
    };
    let price_raw = fields
        .price
        .select_raw(raw)
        .map_err(|e| invalid(format!("cannot read the price: {e}")))?
        .filter(|raw| raw.get() != "null");
    let price = price_raw
        .map(|raw| exact_price(raw.get()))
        .transpose()
        .map_err(|(text, reason)| {
            invalid(ProductError::bad_price(&external_id, &text, reason).to_string())
        })?;
    let Some(price) = price else {
        return Err(invalid(format!(
            "product {external_id} has no price at {}",
            fields.price
        )));
    };
    let stock = match fields.stock.as_ref().and_then(|p| p.first(&record)) {
        None => None,
        Some(value) => Some(integer(value).ok_or_else(|| {
            invalid(format!(
                "product {external_id} has a stock that is not a whole number: {value}"
            ))
        })?),
    };
    let category_value = text(fields.category.as_ref(), &record);
    let category_name = text(fields.category_name.as_ref(), &record).or_else(|| {
        // A category given by name (not a slug) is its own display name.
        category_value
            .as_ref()
            .filter(|c| slugify(c) != **c)
            .cloned()
    });
    let category = category_value
        .map(|c| slugify(&c))
        .filter(|c| !c.is_empty());
    let updated_at = match fields.updated_at.as_ref().and_then(|p| p.first(&record)) {
        None => None,
        Some(value) => Some(timestamp(value).ok_or_else(|| {
            invalid(format!(
                "product {external_id} has an update time that is not RFC 3339, ISO 8601 or unix seconds: {value}"
            ))
        })?),
    };
    Product {
        title: text(Some(&fields.title), &record).unwrap_or_default(),
        description: text(fields.description.as_ref(), &record).unwrap_or_default(),
        category,
        category_name,
        brand: text(fields.brand.as_ref(), &record),
        sku: text(fields.sku.as_ref(), &record),
        price: Some(price),
        stock,
        tags: list(fields.tags.as_ref(), &record, true),
        images: list(fields.images.as_ref(), &record, false),
        thumbnail: text(fields.thumbnail.as_ref(), &record),
        attributes: Attributes::from_map(&unmapped(fields, object)),
        source_updated_at: updated_at,
        external_id,
    }
    .validate()
    .map_err(|e| invalid(e.to_string()))
}

/// The record's id as text, from a string or an integer.
fn external_id(fields: &Fields, record: &Value) -> Option<String> {
    match fields.external_id.first(record)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The text at `pointer`: a string (empty counts as absent), or a number or boolean as written.
fn text(pointer: Option<&Pointer>, record: &Value) -> Option<String> {
    match pointer?.first(record)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every text the pointer selects; an array selected whole gives its elements, and for tags
/// one string gives its comma-separated parts (`"a, b"`, as some shops write them).
fn list(pointer: Option<&Pointer>, record: &Value, split_commas: bool) -> Vec<String> {
    let Some(pointer) = pointer else {
        return Vec::new();
    };
    let mut items = Vec::new();
    for value in pointer.select(record) {
        match value {
            Value::Array(elements) => items.extend(elements.iter().filter_map(scalar_text)),
            Value::String(s) if split_commas => {
                items.extend(s.split(',').map(|t| t.trim().to_owned()));
            }
            other => items.extend(scalar_text(other)),
        }
    }
    items.retain(|item| !item.is_empty());
    items
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A whole number from a JSON integer or an integer string.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An update time: RFC 3339, ISO 8601 without an offset (taken as UTC), or unix seconds (a
/// number or a numeric string).
fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    let seconds = |s: i64| DateTime::from_timestamp(s, 0);
    match value {
        Value::Number(n) => n.as_i64().and_then(seconds),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
                return Some(t.and_utc());
            }
            s.parse::<i64>().ok().and_then(seconds)
        }
        _ => None,
    }
}

/// The record without the fields a pointer takes whole (`/title`, `/tags/*`); fields a pointer
/// only reaches into (`/variants/0/sku`, `/images/*/src`) stay, so nothing the mapping does not
/// keep is lost.
fn unmapped(fields: &Fields, object: &Map<String, Value>) -> Map<String, Value> {
    let taken: Vec<&str> = fields
        .all()
        .filter(|p| p.takes_whole_field())
        .filter_map(Pointer::top_key)
        .collect();
    object
        .iter()
        .filter(|(key, value)| !taken.contains(&key.as_str()) && !value.is_null())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn fields(extra: &str) -> Fields {
        let text = format!(
            r#"
[list]
url = "https://shop.example/products"
[list.paging]
style = "page"
[item]
url = "https://shop.example/products/{{id}}"
[fields]
{extra}
"#
        );
        Source::parse("shop.toml", &text, |_| None).unwrap().fields
    }

    fn woo() -> Fields {
        fields(
            r#"external_id = "/id"
title = "/name"
description = "/description"
price = "/price"
stock = "/stock_quantity"
category = "/categories/0/slug"
category_name = "/categories/0/name"
sku = "/sku"
images = "/images/*/src"
tags = "/tags/*/name"
updated_at = "/date_modified_gmt""#,
        )
    }

    fn map(fields: &Fields, json: &str) -> Result<Product, InvalidProduct> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        product(fields, &raw)
    }

    #[test]
    fn nested_pointers_and_arrays_map_a_woocommerce_record() {
        let p = map(
            &woo(),
            r#"{"id":12,"name":"Lamp","description":"<p>Bright</p>","price":"123456789012345678901234567890.10",
            "stock_quantity":4,"categories":[{"id":3,"name":"Home & Garden","slug":"home-garden"}],
            "sku":"L-12","images":[{"src":"https://cdn/1.jpg"},{"src":"https://cdn/2.jpg"}],
            "tags":[{"name":"light"},{"name":"desk"}],"date_modified_gmt":"2026-03-01T10:00:00",
            "weight":"2.5","meta_data":[]}"#,
        )
        .unwrap();
        assert_eq!(p.external_id, "12");
        assert_eq!(p.title, "Lamp");
        assert_eq!(
            p.price.unwrap().as_str(),
            "123456789012345678901234567890.10"
        );
        assert_eq!(p.stock, Some(4));
        assert_eq!(p.category.as_deref(), Some("home-garden"));
        assert_eq!(p.category_name.as_deref(), Some("Home & Garden"));
        assert_eq!(p.images, ["https://cdn/1.jpg", "https://cdn/2.jpg"]);
        assert_eq!(p.tags, ["light", "desk"]);
        assert_eq!(
            p.source_updated_at.unwrap().to_rfc3339(),
            "2026-03-01T10:00:00+00:00"
        );
        assert_eq!(p.attributes.get("weight").unwrap(), "2.5");
        assert!(p.attributes.get("name").is_none(), "mapped whole");
        assert!(
            p.attributes.get("categories").is_some(),
            "only reached into: kept"
        );
    }

    #[test]
    fn missing_optional_fields_are_empty_and_a_missing_required_one_fails_alone() {
        let p = map(&woo(), r#"{"id":"a-1","name":"Cup","price":3}"#).unwrap();
        assert_eq!((p.stock, p.category, p.images.len()), (None, None, 0));
        let no_price = map(&woo(), r#"{"id":7,"name":"Cup"}"#).unwrap_err();
        assert_eq!(no_price.product_id.as_deref(), Some("7"));
        assert!(
            no_price.message.contains("no price"),
            "{}",
            no_price.message
        );
        let no_title = map(&woo(), r#"{"id":7,"price":"1.00"}"#).unwrap_err();
        assert!(
            no_title.message.contains("no title"),
            "{}",
            no_title.message
        );
        let no_id = map(&woo(), r#"{"name":"Cup","price":"1.00"}"#).unwrap_err();
        assert_eq!(no_id.product_id, None);
        let bad_stock = map(
            &woo(),
            r#"{"id":7,"name":"Cup","price":1,"stock_quantity":"many"}"#,
        )
        .unwrap_err();
        assert!(bad_stock.message.contains("stock"), "{}", bad_stock.message);
        let bad_price = map(&woo(), r#"{"id":7,"name":"Cup","price":"-1"}"#).unwrap_err();
        assert!(
            bad_price.message.contains("invalid price"),
            "{}",
            bad_price.message
        );
    }

    #[test]
    fn shopify_tags_in_one_string_and_variant_fields_map() {
        let shopify = fields(
            r#"external_id = "/id"
title = "/title"
price = "/variants/0/price"
sku = "/variants/0/sku"
stock = "/variants/0/inventory_quantity"
category = "/product_type"
brand = "/vendor"
tags = "/tags"
images = "/images/*/src"
thumbnail = "/image/src"
updated_at = "/updated_at""#,
        );
        let p = map(
            &shopify,
            r#"{"id":632910392,"title":"IPod Nano","vendor":"Apple","product_type":"Cult Products",
            "tags":"Emotive, Flash Memory, MP3","updated_at":"2026-01-02T10:00:00-05:00",
            "variants":[{"sku":"IPOD2008PINK","price":"199.00","inventory_quantity":10}],
            "images":[{"src":"https://cdn/a.jpg"}],"image":{"src":"https://cdn/a.jpg"}}"#,
        )
        .unwrap();
        assert_eq!(p.tags, ["Emotive", "Flash Memory", "MP3"]);
        assert_eq!(p.price.unwrap().as_str(), "199.00");
        assert_eq!(p.category.as_deref(), Some("cult-products"));
        assert_eq!(p.category_name.as_deref(), Some("Cult Products"));
        assert_eq!(p.brand.as_deref(), Some("Apple"));
        assert_eq!(
            p.source_updated_at.unwrap().to_rfc3339(),
            "2026-01-02T15:00:00+00:00"
        );
        assert!(p.attributes.get("variants").is_some());
    }

    #[test]
    fn update_times_come_in_three_forms() {
        for (value, expected) in [
            (r#""2026-01-02T03:04:05Z""#, 1_767_323_045),
            (r#""2026-01-02T03:04:05""#, 1_767_323_045),
            ("1767323045", 1_767_323_045),
            (r#""1767323045""#, 1_767_323_045),
        ] {
            let value: Value = serde_json::from_str(value).unwrap();
            assert_eq!(timestamp(&value).unwrap().timestamp(), expected, "{value}");
        }
        assert!(timestamp(&Value::String("yesterday".into())).is_none());
    }
}
