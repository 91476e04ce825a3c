use serde_json::value::RawValue;

use super::super::missing_for_event;
use super::super::tests::{fields, map};
use crate::source::{Fields, Source};

/// A source with `[variants]` and `[options]` in Shopify's shape.
fn shopify_model() -> Fields {
    let text = r#"
currency = "USD"
[list]
url = "https://shop.example/products.json"
[list.paging]
style = "link_header"
[item]
url = "https://shop.example/products/{id}.json"
[fields]
external_id = "/id"
title = "/title"
category = "/product_type"
[options]
records = "/options"
name = "/name"
values = "/values"
[variants]
records = "/variants"
external_id = "/id"
title = "/title"
sku = "/sku"
barcode = "/barcode"
stock = "/inventory_quantity"
options = ["/option1", "/option2", "/option3"]
[[variants.prices]]
amount = "/price"
[[variants.prices]]
amount = "/compare_at_price"
kind = "compare_at"
"#;
    Source::parse("shopify.toml", text, |_| None)
        .unwrap()
        .fields
}

const SHOPIFY_SHIRT: &str = r#"{"id":632910392,"title":"Tee","product_type":"Shirts",
    "options":[{"name":"Size","values":["S","M"]},{"name":"Color","values":["Black","White"]}],
    "variants":[
      {"id":11,"title":"S / Black","sku":"TEE-S-B","barcode":"123","inventory_quantity":3,
       "option1":"S","option2":"Black","option3":null,"price":"20.00","compare_at_price":"25.00"},
      {"id":12,"title":"M / White","sku":"TEE-M-W","barcode":null,"inventory_quantity":0,
       "option1":"M","option2":"White","option3":null,"price":"19.50","compare_at_price":null,
       "weight":0.2}
    ]}"#;

#[test]
fn shopify_variants_match_options_by_position_with_their_prices() {
    let p = map(&shopify_model(), SHOPIFY_SHIRT).unwrap();
    assert_eq!(
        p.options
            .iter()
            .map(|o| (o.name.as_str(), o.values.len()))
            .collect::<Vec<_>>(),
        [("Size", 2), ("Color", 2)]
    );
    assert_eq!(p.variants.len(), 2);
    let (a, b) = (&p.variants[0], &p.variants[1]);
    assert_eq!(a.external_id, "11");
    assert_eq!(
        a.options,
        [
            ("Size".into(), "S".into()),
            ("Color".into(), "Black".into())
        ]
    );
    assert_eq!(a.barcode.as_deref(), Some("123"));
    let usd = crate::domain::Currency::parse("usd").unwrap();
    assert_eq!(p.currency, usd);
    assert_eq!(
        a.price(&usd, crate::domain::PriceKind::CompareAt)
            .unwrap()
            .amount
            .as_str(),
        "25.00"
    );
    assert_eq!(b.prices.len(), 1, "a null compare-at price is none");
    assert_eq!(b.attributes.get("weight").unwrap(), 0.2);
    assert!(b.attributes.get("sku").is_none(), "mapped whole");
    assert_eq!(p.sku(), Some("TEE-S-B"));
    assert_eq!(
        p.price().unwrap().as_str(),
        "19.50",
        "the lowest base price"
    );
    assert_eq!(p.stock(), Some(3));
    assert!(
        p.attributes.get("variants").is_none() && p.attributes.get("options").is_none(),
        "the lists mapped whole leave the product's attributes"
    );
}

#[test]
fn an_event_record_without_its_variants_is_incomplete() {
    let raw = |json: &str| serde_json::from_str::<Box<RawValue>>(json).unwrap();
    let missing = missing_for_event(&shopify_model(), &[], &raw(r#"{"id":1,"title":"Tee"}"#));
    assert!(
        missing.iter().any(|m| m.starts_with("variants at")),
        "{missing:?}"
    );
    assert!(
        missing.iter().any(|m| m.starts_with("options at")),
        "{missing:?}"
    );
    let omitted = missing_for_event(
        &shopify_model(),
        &["variants".into(), "options".into(), "category".into()],
        &raw(r#"{"id":1,"title":"Tee"}"#),
    );
    assert!(omitted.is_empty(), "{omitted:?}");
}

#[test]
fn shopifys_placeholder_option_means_no_options() {
    let record = r#"{"id":1,"title":"Mug","product_type":"Kitchen",
        "options":[{"name":"Title","values":["Default Title"]}],
        "variants":[{"id":7,"title":"Default Title","sku":"MUG","option1":"Default Title",
        "price":"8.00","inventory_quantity":5}]}"#;
    let p = map(&shopify_model(), record).unwrap();
    assert!(p.options.is_empty());
    assert!(p.variants[0].options.is_empty());
    assert_eq!(p.variants[0].external_id, "7");
}

#[test]
fn variants_without_ids_or_with_bad_values_fail_their_product() {
    let no_id = SHOPIFY_SHIRT.replace(r#""id":12,"#, "");
    let error = map(&shopify_model(), &no_id).unwrap_err();
    assert!(
        error.message.contains("variant 2 has no id"),
        "{}",
        error.message
    );
    let repeated = SHOPIFY_SHIRT.replace(r#""id":12,"#, r#""id":11,"#);
    let error = map(&shopify_model(), &repeated).unwrap_err();
    assert!(error.message.contains("appears twice"), "{}", error.message);
    let bad_price = SHOPIFY_SHIRT.replace(r#""19.50""#, r#""cheap""#);
    let error = map(&shopify_model(), &bad_price).unwrap_err();
    assert!(error.message.contains("invalid price"), "{}", error.message);
    assert_eq!(error.product_id.as_deref(), Some("632910392"));
}

/// A WooCommerce product record: a simple one is its own variant, its prices from
/// `regular_price` and `sale_price` with the sale's dates; options are the attributes used for
/// variations; every category kept.
fn woo_model() -> Fields {
    fields(
        r#"external_id = "/id"
title = "/name"
category = "/categories/*/slug"
category_name = "/categories/*/name"
[options]
records = "/attributes/[variation=true]"
name = "/name"
values = "/options"
[variants]
records = "/variations_data"
sku = "/sku"
stock = "/stock_quantity"
option_list = "/attributes"
[[variants.prices]]
amount = "/regular_price"
[[variants.prices]]
amount = "/sale_price"
kind = "sale"
starts_at = "/date_on_sale_from_gmt"
ends_at = "/date_on_sale_to_gmt""#,
    )
}

#[test]
fn a_simple_woocommerce_product_is_its_own_variant_in_every_category() {
    let p = map(
        &woo_model(),
        r#"{"id":31,"name":"Lamp","sku":"L-31","stock_quantity":2,"regular_price":"30",
        "sale_price":"24.5","date_on_sale_from_gmt":"2026-12-01T00:00:00","date_on_sale_to_gmt":"",
        "categories":[{"slug":"lighting","name":"Lighting"},{"slug":"sale","name":"On Sale!"}],
        "attributes":[{"name":"Brand","variation":false,"options":["Lumen"]}]}"#,
    )
    .unwrap();
    assert!(
        p.options.is_empty(),
        "a non-variation attribute is no option"
    );
    assert_eq!(p.variants.len(), 1);
    let v = &p.variants[0];
    assert_eq!(
        (v.external_id.as_str(), v.sku.as_deref()),
        ("31", Some("L-31"))
    );
    assert_eq!(v.title, "Lamp");
    let sale = v
        .price(&p.currency, crate::domain::PriceKind::Sale)
        .unwrap();
    assert_eq!(sale.amount.as_str(), "24.5");
    assert_eq!(
        sale.starts_at.unwrap().to_rfc3339(),
        "2026-12-01T00:00:00+00:00"
    );
    assert_eq!(sale.ends_at, None, "an empty date is none");
    assert_eq!(
        p.price().unwrap().as_str(),
        "30",
        "the base price, not the sale"
    );
    assert_eq!(
        p.categories
            .iter()
            .map(|c| (c.slug.as_str(), c.name.as_deref()))
            .collect::<Vec<_>>(),
        [("lighting", Some("Lighting")), ("sale", Some("On Sale!"))]
    );
}

#[test]
fn woocommerce_variations_name_their_options_in_a_list() {
    let p = map(
        &woo_model(),
        r#"{"id":40,"name":"Hoodie","type":"variable","categories":[{"slug":"tops","name":"Tops"}],
        "attributes":[{"name":"Size","variation":true,"options":["S","M"]}],
        "variations_data":[
          {"id":41,"sku":"H-S","stock_quantity":1,"regular_price":"45","sale_price":"",
           "attributes":[{"name":"Size","option":"S"}]},
          {"id":42,"sku":"H-M","stock_quantity":null,"regular_price":"44","sale_price":"40",
           "attributes":[{"name":"Size","option":"M"}]}]}"#,
    )
    .unwrap();
    assert_eq!(p.options[0].values, ["S", "M"]);
    assert_eq!(p.variants[1].options, [("Size".into(), "M".into())]);
    assert_eq!(p.variants[1].title, "M", "named by its option values");
    assert_eq!(p.variants[0].prices.len(), 1, "an empty sale price is none");
    assert_eq!(p.stock(), Some(1));
    assert_eq!(p.price().unwrap().as_str(), "44");
}

#[test]
fn a_source_with_variants_maps_no_product_price_sku_or_stock() {
    let text = r#"
[list]
url = "https://shop.example/p"
[list.paging]
style = "page"
[item]
url = "https://shop.example/p/{id}"
[fields]
external_id = "/id"
title = "/name"
price = "/price"
[variants]
records = "/variants"
"#;
    let error = Source::parse("s.toml", text, |_| None).unwrap_err();
    assert_eq!(error.key, "fields.price");
    assert!(
        error.problem.contains("variants.prices"),
        "{}",
        error.problem
    );
    let bad = text
        .replace("price = \"/price\"\n", "")
        .replace("[variants]", "currency = \"euro\"\n[variants]");
    // `currency` is a top-level key: moved above [list] it parses; here it sits in [fields].
    assert!(Source::parse("s.toml", &bad, |_| None).is_err());
    let bad = format!(
        "currency = \"euro\"\n{}",
        text.replace("price = \"/price\"\n", "")
    );
    let error = Source::parse("s.toml", &bad, |_| None).unwrap_err();
    assert_eq!(error.key, "currency");
}
