use super::*;
use crate::source::{DUMMYJSON, Source};

pub(super) fn fields(extra: &str) -> Fields {
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

fn dummyjson() -> Fields {
    Source::parse("dummyjson", DUMMYJSON, |_| None)
        .unwrap()
        .fields
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
brand = "/attributes/[name=Brand]/options/0"
sku = "/sku"
images = "/images/*/src"
tags = "/tags/*/name"
updated_at = "/date_modified_gmt""#,
    )
}

pub(super) fn map(fields: &Fields, json: &str) -> Result<Product, InvalidProduct> {
    let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
    product(fields, &raw)
}

const DUMMYJSON_PRODUCT: &str = r#"{"id":1,"title":"Essence Mascara Lash Princess",
    "description":"Popular mascara","category":"beauty","price":9.99,"discountPercentage":10.48,
    "rating":2.56,"stock":99,"tags":["beauty","mascara"],"brand":"Essence","sku":"BEA-ESS-ESS-001",
    "weight":4,"dimensions":{"width":15.14,"height":13.08,"depth":22.99},
    "availabilityStatus":"In Stock","reviews":[{"rating":3}],
    "meta":{"createdAt":"2025-04-30T09:41:02.053Z","updatedAt":"2025-04-30T09:41:02.053Z","barcode":"5784719087687"},
    "images":["https://cdn.example/1.webp"],"thumbnail":"https://cdn.example/t.webp"}"#;

#[test]
fn a_dummyjson_product_maps_every_kept_field() {
    let p = map(&dummyjson(), DUMMYJSON_PRODUCT).unwrap();
    assert_eq!(p.external_id, "1");
    assert_eq!(p.price().unwrap().as_str(), "9.99");
    assert_eq!(p.category(), Some("beauty"));
    assert_eq!(p.categories[0].name, None, "a slug names no category");
    assert_eq!(p.tags, vec!["beauty", "mascara"]);
    assert_eq!(p.images, vec!["https://cdn.example/1.webp"]);
    assert_eq!(p.attributes.get("dimensions").unwrap()["depth"], 22.99);
    assert_eq!(
        p.attributes.get("meta").unwrap()["barcode"],
        "5784719087687"
    );
    assert!(
        p.attributes.get("reviews").is_none(),
        "reviews are not catalog data"
    );
    assert!(p.attributes.get("title").is_none(), "mapped whole");
    assert_eq!(
        p.source_updated_at.unwrap().to_rfc3339(),
        "2025-04-30T09:41:02.053+00:00"
    );
}

/// The content hash the built-in DummyJSON decoder of earlier releases gave
/// `DUMMYJSON_PRODUCT`.
const EARLIER_HASH: &str = "b92170fc07c0895ad40c15d855855f74";

#[test]
fn the_dummyjson_preset_keeps_the_attributes_and_hash_of_earlier_releases() {
    // The attributes text and content hash the built-in DummyJSON decoder gave this
    // product before it became the preset: a catalog it wrote is not rewritten.
    let p = map(&dummyjson(), DUMMYJSON_PRODUCT).unwrap();
    assert_eq!(
        p.attributes.as_str(),
        r#"{"availabilityStatus":"In Stock","dimensions":{"depth":22.99,"height":13.08,"width":15.14},"discountPercentage":10.48,"meta":{"barcode":"5784719087687","createdAt":"2025-04-30T09:41:02.053Z","updatedAt":"2025-04-30T09:41:02.053Z"},"rating":2.56,"weight":4}"#
    );
    let hash: String = p
        .content_hash()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hash, EARLIER_HASH,
        "the content hash of the same product from the built-in decoder"
    );
}

#[test]
fn string_ids_are_accepted_and_paths_and_fractions_are_not() {
    let p = map(&dummyjson(), r#"{"id":"sku-9","title":"T"}"#).unwrap();
    assert_eq!(p.external_id, "sku-9");
    for id in [r#"".""#, r#""..""#, r#""a/b""#, r#"" 7""#, r#""""#] {
        let bad = map(&dummyjson(), &format!(r#"{{"id":{id},"title":"T"}}"#)).unwrap_err();
        assert!(bad.message.contains("product id"), "{id}: {}", bad.message);
    }
    let bad = map(&dummyjson(), r#"{"id":1.5,"title":"T"}"#).unwrap_err();
    assert!(bad.message.contains("no id"), "{}", bad.message);
}

#[test]
fn prices_are_exact_from_numbers_and_numeric_strings_and_may_be_absent() {
    let price = |json: &str| {
        map(
            &dummyjson(),
            &format!(r#"{{"id":1,"title":"T","price":{json}}}"#),
        )
        .map(|p| p.price().map(|p| p.as_str().to_owned()))
    };
    assert_eq!(
        price("123456789012345678901234567890.123456789")
            .unwrap()
            .unwrap(),
        "123456789012345678901234567890.123456789"
    );
    assert_eq!(price(r#"" 12.50 ""#).unwrap().unwrap(), "12.50");
    assert_eq!(price("1e3").unwrap().unwrap(), "1000");
    assert_eq!(price("null").unwrap(), None);
    assert_eq!(price(r#""""#).unwrap(), None, "WooCommerce's empty price");
    for bad in [
        "-1",
        r#""-0.5""#,
        r#""12,50""#,
        "true",
        "[1]",
        r#""cheap""#,
        "1e400",
    ] {
        let error = price(bad).unwrap_err();
        assert!(
            error.message.contains("invalid price"),
            "{bad}: {}",
            error.message
        );
    }
}

#[test]
fn nested_pointers_arrays_and_picked_elements_map_a_woocommerce_record() {
    let p = map(
        &woo(),
        r#"{"id":12,"name":"Lamp","description":"<p>Bright</p>","price":"123456789012345678901234567890.10",
        "stock_quantity":4,"categories":[{"id":3,"name":"Home & Garden","slug":"home-garden"}],
        "sku":"L-12","images":[{"src":"https://cdn/1.jpg"},{"src":"https://cdn/2.jpg"}],
        "tags":[{"name":"light"},{"name":"desk"}],"date_modified_gmt":"2026-03-01T10:00:00",
        "attributes":[{"name":"Color","options":["Red"]},{"name":"Brand","options":["Lumen"]}],
        "weight":"2.5","meta_data":[]}"#,
    )
    .unwrap();
    assert_eq!(p.external_id, "12");
    assert_eq!(p.title, "Lamp");
    assert_eq!(
        p.price().unwrap().as_str(),
        "123456789012345678901234567890.10"
    );
    assert_eq!(p.stock(), Some(4));
    assert_eq!(p.brand.as_deref(), Some("Lumen"));
    assert_eq!(p.category(), Some("home-garden"));
    assert_eq!(p.categories[0].name.as_deref(), Some("Home & Garden"));
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
fn missing_optional_fields_are_empty_and_a_bad_record_fails_alone() {
    let p = map(&woo(), r#"{"id":"a-1","name":"Cup","price":3}"#).unwrap();
    assert_eq!((p.stock(), p.category(), p.images.len()), (None, None, 0));
    let p = map(&woo(), r#"{"id":7,"name":"Cup"}"#).unwrap();
    assert_eq!(
        p.price(),
        None,
        "a product without a price is kept without one"
    );
    let no_title = map(&woo(), r#"{"id":7,"price":"1.00"}"#).unwrap_err();
    assert_eq!(no_title.product_id.as_deref(), Some("7"));
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
    let negative = map(&dummyjson(), r#"{"id":1,"title":"T","stock":-2}"#).unwrap_err();
    assert!(
        negative.message.contains("negative stock"),
        "{}",
        negative.message
    );
    let nul = map(&dummyjson(), r#"{"id":1,"title":"Lamp\u0000"}"#).unwrap_err();
    assert!(nul.message.contains("NUL"), "{}", nul.message);
    assert_eq!(nul.product_id.as_deref(), Some("1"));
    let bad_time = map(
        &dummyjson(),
        r#"{"id":1,"title":"T","meta":{"updatedAt":"yesterday"}}"#,
    )
    .unwrap_err();
    assert!(
        bad_time.message.contains("update time"),
        "{}",
        bad_time.message
    );
    let not_object = product(
        &woo(),
        &serde_json::from_str::<Box<RawValue>>("[1]").unwrap(),
    )
    .unwrap_err();
    assert!(
        not_object.message.contains("not a JSON object"),
        "{}",
        not_object.message
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
    assert_eq!(p.price().unwrap().as_str(), "199.00");
    assert_eq!(p.category(), Some("cult-products"));
    assert_eq!(p.categories[0].name.as_deref(), Some("Cult Products"));
    assert_eq!(p.brand.as_deref(), Some("Apple"));
    assert_eq!(p.sku(), Some("IPOD2008PINK"));
    assert_eq!(p.stock(), Some(10));
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
        assert_eq!(timestamp(value).unwrap().timestamp(), expected, "{value}");
    }
    assert!(timestamp(r#""yesterday""#).is_none());
}

#[test]
fn ids_are_read_first_or_anywhere_in_the_object() {
    let fields = dummyjson();
    for (raw, id) in [
        (r#"{"id":17,"title":"A"}"#, Some("17")),
        (r#"{ "id" : "sku-9" ,"title":"A"}"#, Some("sku-9")),
        (r#"{"id":"a,b","title":"A"}"#, Some("a,b")),
        (r#"{"id":"a\"b","title":"A"}"#, Some("a\"b")),
        (r#"{"title":"A","id":5}"#, Some("5")),
        (r#"{"id":3}"#, Some("3")),
        (r#"{"id":3.5}"#, None),
        (r#"{"id":true}"#, None),
        (r#"{"identity":3}"#, None),
    ] {
        let raw: Box<RawValue> = serde_json::from_str(raw).unwrap();
        assert_eq!(record_id(&fields, &raw).as_deref(), id, "{raw}");
    }
}

#[test]
fn an_event_record_lacks_what_it_does_not_carry() {
    let fields = dummyjson();
    let raw = |json: &str| serde_json::from_str::<Box<RawValue>>(json).unwrap();
    let missing = missing_for_event(&fields, &["brand".into()], &raw(r#"{"id":14,"title":"x"}"#));
    assert!(
        missing.iter().any(|m| m.starts_with("price at")),
        "{missing:?}"
    );
    assert!(
        missing.iter().any(|m| m == "meta"),
        "listed attributes: {missing:?}"
    );
    assert!(
        !missing.iter().any(|m| m.starts_with("brand")),
        "may be omitted"
    );
    assert!(
        missing_for_event(&fields, &[], &raw(DUMMYJSON_PRODUCT))
            .iter()
            .all(|m| [
                "returnPolicy",
                "minimumOrderQuantity",
                "warrantyInformation",
                "shippingInformation"
            ]
            .contains(&m.as_str()))
    );
}
