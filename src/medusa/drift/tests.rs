use serde_json::json;

use super::compare::{differences, same_json};
use crate::medusa::answers::Listed;
use crate::medusa::payload::tests::owed;
use crate::medusa::payload::{Currencies, Raw, Skipped};
use crate::store::{OwedProduct, ProductLink};

/// The shirt of `domain::shirt`, pushed, and Medusa's listing of it after the push.
fn pushed() -> (OwedProduct, Listed) {
    let mut product = owed(crate::domain::shirt("7"));
    product.link = Some(ProductLink {
        medusa_product_id: "prod_1".into(),
        medusa_handle: "red-lipstick".into(),
        pushed_status: "published".into(),
    });
    for (i, v) in product.variants.iter_mut().enumerate() {
        v.medusa_id = Some(format!("variant_{i}"));
        v.pushed_hash = Some(v.content_hash.clone());
    }
    let variants: Vec<serde_json::Value> = product
        .product
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let options: Vec<serde_json::Value> = v
                .options
                .iter()
                .map(|(name, value)| json!({"value": value, "option": {"title": name}}))
                .collect();
            json!({
                "id": format!("variant_{i}"), "title": v.title, "sku": v.sku, "barcode": null,
                "options": options,
                "prices": [{"currency_code": "eur", "amount": format!("{}0", v.prices[0].amount.as_str()).parse::<f64>().unwrap()}]
            })
        })
        .collect();
    let listed: Listed = serde_json::from_value(json!({
        "id": "prod_1",
        "external_id": "7",
        "handle": "red-lipstick",
        "title": "Tee",
        "description": "Volumizing mascara",
        "status": "published",
        "thumbnail": "https://cdn.example/t.webp",
        "metadata": {
            "brand": "Essence", "stock": 6, "category": "beauty", "source_updated_at": null,
            "attributes": {"rating": 2.560, "dimensions": {"width": 15.14}}, "someone_elses": true
        },
        "images": [{"url": "https://cdn.example/1.webp"}],
        "tags": [{"value": "mascara"}, {"value": "beauty"}],
        "categories": [{"handle": "beauty"}],
        "options": [
            {"title": "Color", "values": [{"value": "White"}, {"value": "Black"}]},
            {"title": "Size", "values": [{"value": "S"}, {"value": "M"}]}
        ],
        "variants": variants
    }))
    .unwrap();
    (product, listed)
}

fn diff(product: &OwedProduct, listed: &Listed) -> Vec<&'static str> {
    let eur = Currencies {
        supported: ["eur".to_owned()].into(),
    };
    let raw = Raw::of(product, &eur, &mut Skipped::new()).unwrap();
    differences(product, &raw, listed)
}

#[test]
fn a_product_as_pushed_has_not_drifted() {
    let (product, listed) = pushed();
    assert_eq!(diff(&product, &listed), Vec::<&str>::new());
    let archived = OwedProduct {
        archived: true,
        ..product
    };
    let draft = Listed {
        status: Some("draft".into()),
        ..pushed().1
    };
    assert_eq!(diff(&archived, &draft), Vec::<&str>::new());
}

#[test]
fn edits_in_medusa_are_named_by_field() {
    let (product, mut listed) = pushed();
    listed.title = Some("Blue Tee".into());
    listed.handle = Some("blue-tee".into());
    listed.variants[0].prices[0].amount =
        serde_json::value::RawValue::from_string("5".into()).unwrap();
    listed.variants[1].sku = Some("EDITED".into());
    listed.variants[2].options[0].value = "XL".into();
    listed.tags.pop();
    listed.categories.clear();
    listed.options[0].values.pop();
    listed.status = Some("draft".into());
    listed.metadata.as_mut().unwrap()["brand"] = json!("Other");
    assert_eq!(
        diff(&product, &listed),
        [
            "handle",
            "title",
            "status",
            "tags",
            "categories",
            "options",
            "price",
            "sku",
            "variant_options",
            "metadata"
        ]
    );
}

#[test]
fn a_lost_or_added_variant_is_drift() {
    let (product, mut listed) = pushed();
    listed.variants.pop();
    assert_eq!(diff(&product, &listed), ["variants"]);
    let (product, mut listed) = pushed();
    let extra: Listed = serde_json::from_value(json!({"id": "x", "variants": [
        {"id": "variant_9", "sku": "OTHER", "prices": []}]}))
    .unwrap();
    listed.variants.extend(extra.variants);
    assert_eq!(diff(&product, &listed), ["variants"]);
}

#[test]
fn values_mean_what_medusa_keeps_of_them() {
    use super::compare::decimal;
    assert_eq!(decimal("19.50"), decimal("19.5"));
    assert_eq!(decimal("100"), decimal("100.00"));
    assert_eq!(decimal("1.95e1").as_deref(), Some("19.5"));
    assert_ne!(decimal("19.5"), decimal("19.05"));
    assert!(same_json(
        &json!({"a": 2.50, "b": null}),
        &json!({"a": 2.5})
    ));
    assert!(same_json(&json!([1e2]), &json!([100])));
    assert!(!same_json(&json!({"a": "1"}), &json!({"a": 1})));
    let (mut product, mut listed) = pushed();
    listed.description = None;
    product.product.description = String::new();
    assert_eq!(diff(&product, &listed), Vec::<&str>::new());
}
