use super::*;
use crate::domain::{Currency, Price, VariantPrice};
use crate::store::{OwedVariant, ProductLink};

/// The sample product, claimed, never pushed: one variant, one category.
pub(crate) fn owed_product() -> OwedProduct {
    owed(crate::domain::sample("17"))
}

/// `product` claimed, its variants never pushed.
pub(crate) fn owed(product: crate::domain::Product) -> OwedProduct {
    OwedProduct {
        id: 1,
        handle: "red-lipstick".into(),
        content_hash: vec![1; 16],
        archived: false,
        category_ids: vec![3; product.categories.len()],
        variants: (0..product.variants.len())
            .map(|i| OwedVariant {
                id: 100 + i as i64,
                content_hash: vec![i as u8; 16],
                medusa_id: None,
                pushed_hash: None,
            })
            .collect(),
        retired: Vec::new(),
        link: None,
        product,
    }
}

fn eur() -> Currencies {
    Currencies {
        supported: ["eur".to_owned()].into(),
    }
}

fn refs() -> Refs<'static> {
    Refs {
        categories: vec!["pcat_1"],
        tags: vec!["ptag_1", "ptag_2"],
    }
}

fn raw(owed: &OwedProduct) -> Raw {
    Raw::of(owed, &eur(), &mut Skipped::new()).unwrap()
}

#[test]
fn a_product_sold_one_way_has_the_default_option_and_the_exact_price() {
    let mut product = crate::domain::sample("17");
    product.variants[0].prices[0].amount = Price::parse("1234567.89").unwrap();
    let owed = owed(product);
    let raw = raw(&owed);
    let json = serde_json::to_value(new_product(&owed, &raw, &refs(), "sc_1")).unwrap();
    assert_eq!(json["handle"], "red-lipstick");
    assert_eq!(json["external_id"], "17");
    assert_eq!(json["status"], "published");
    assert_eq!(json["sales_channels"][0]["id"], "sc_1");
    assert_eq!(json["categories"][0]["id"], "pcat_1");
    assert_eq!(json["tags"][1]["id"], "ptag_2");
    assert_eq!(json["options"][0]["title"], "Default option");
    let variant = &json["variants"][0];
    assert_eq!(variant["sku"], "BEA-ESS-ESS-001");
    assert_eq!(variant["title"], "Default");
    assert_eq!(variant["options"]["Default option"], "Default");
    assert_eq!(variant["manage_inventory"], false);
    assert_eq!(variant["metadata"]["stock"], 99);
    assert_eq!(json["metadata"]["brand"], "Essence");
    assert_eq!(json["metadata"]["stock"], 99);
    assert_eq!(json["metadata"]["attributes"]["rating"], 2.56);
    // The amount goes out as the catalog wrote it.
    let text = serde_json::to_string(&new_product(&owed, &raw, &refs(), "sc_1")).unwrap();
    assert!(text.contains(r#""amount":1234567.89"#), "{text}");
}

#[test]
fn a_product_in_variants_has_its_options_and_every_variant() {
    let mut shirt = crate::domain::shirt("7");
    let usd = Currency::parse("usd").unwrap();
    let first = &mut shirt.variants[0];
    first.prices.push(VariantPrice {
        currency: usd,
        kind: PriceKind::Base,
        amount: Price::parse("21.50").unwrap(),
        starts_at: None,
        ends_at: None,
    });
    first.prices.push(VariantPrice {
        currency: Currency::default(),
        kind: PriceKind::CompareAt,
        amount: Price::parse("30.00").unwrap(),
        starts_at: None,
        ends_at: None,
    });
    let owed = owed(shirt);
    let mut skipped = Skipped::new();
    let raw = Raw::of(&owed, &eur(), &mut skipped).unwrap();
    assert_eq!(
        skipped,
        Skipped::from([("usd".to_owned(), 1)]),
        "usd: not a store currency"
    );
    let json = serde_json::to_value(new_product(&owed, &raw, &refs(), "sc_1")).unwrap();
    assert_eq!(json["options"][0]["title"], "Size");
    assert_eq!(json["options"][0]["values"], serde_json::json!(["S", "M"]));
    assert_eq!(json["options"][1]["title"], "Color");
    let variants = json["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    assert_eq!(variants[0]["title"], "S / Black");
    assert_eq!(variants[0]["sku"], "TEE-S-Black");
    assert_eq!(
        variants[0]["options"],
        serde_json::json!({"Size": "S", "Color": "Black"})
    );
    assert_eq!(
        variants[0]["prices"],
        serde_json::json!([{"currency_code": "eur", "amount": 20.00}])
    );
    assert_eq!(variants[0]["metadata"]["compare_at_prices"]["eur"], "30.00");
    assert_eq!(
        variants[3]["options"],
        serde_json::json!({"Size": "M", "Color": "White"})
    );
}

#[test]
fn an_update_carries_the_product_s_own_fields_only() {
    let owed = owed(crate::domain::shirt("7"));
    let raw = raw(&owed);
    let json =
        serde_json::to_value(product_update(&owed, &raw, "prod_1", "draft", &refs())).unwrap();
    assert_eq!(json["id"], "prod_1");
    assert_eq!(json["status"], "draft");
    assert_eq!(
        json["handle"], "red-lipstick",
        "an edit in Medusa is undone"
    );
    assert!(
        json.get("variants").is_none(),
        "Medusa would replace the list: {json}"
    );
    assert!(
        json.get("options").is_none(),
        "refused since Medusa 2.16: {json}"
    );
}

#[test]
fn a_product_keeps_the_handle_of_its_first_push() {
    let mut legacy = owed_product();
    legacy.handle = "lamp--17".into();
    legacy.link = Some(ProductLink {
        medusa_product_id: "prod_1".into(),
        medusa_handle: "lamp-17".into(),
        pushed_status: "published".into(),
    });
    assert_eq!(handle_of(&legacy), "lamp-17");
    legacy.link = None;
    assert_eq!(handle_of(&legacy), "lamp-id-17");
}

#[test]
fn suffixed_handles_read_id_where_the_catalog_has_a_double_dash() {
    assert_eq!(handle("lamp--17"), "lamp-id-17");
    assert_eq!(handle("lamp-17"), "lamp-17", "a plain slug is unchanged");
    assert_eq!(handle("red-lipstick"), "red-lipstick");
    assert_eq!(handle("café-crème--a-b"), "café-crème-id-a-b");
    assert_eq!(handle("id-card"), "idid-card");
    assert_eq!(handle("lamp-id-17"), "lamp-idid-17");
    assert_eq!(handle("lamp--id"), "lamp-id-idid");
    assert_eq!(handle("video-idea"), "video-idea", "only whole segments");
}

/// Reads a rendering back: what makes it one to one.
fn catalog_handle(medusa: &str) -> String {
    medusa
        .split('-')
        .map(|segment| {
            let repeats = segment.len() / SEPARATOR_SEGMENT.len();
            if repeats > 0 && segment == SEPARATOR_SEGMENT.repeat(repeats) {
                SEPARATOR_SEGMENT.repeat(repeats - 1)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

proptest::proptest! {
    #[test]
    fn distinct_catalog_handles_stay_distinct_in_medusa(
        a in "[a-zé0-9]{1,8}(-[a-zé0-9]{1,8}|-id|-idid){0,4}",
        b in "[a-zé0-9]{1,8}(-[a-zé0-9]{1,8}|-id){0,3}",
        id in "[a-z0-9]{1,6}(-[a-z0-9]{1,4}|-id){0,2}",
    ) {
        let suffixed = crate::domain::suffixed_handle(&a, &id);
        for catalog in [a.as_str(), b.as_str(), suffixed.as_str()] {
            let medusa = handle(catalog);
            proptest::prop_assert_eq!(catalog_handle(&medusa), catalog);
            proptest::prop_assert!(!medusa.contains("--") && !medusa.starts_with('-') && !medusa.ends_with('-'));
        }
        proptest::prop_assert_ne!(handle(&suffixed), handle(&b));
        if a != b {
            proptest::prop_assert_ne!(handle(&a), handle(&b));
        }
    }
}

#[test]
fn prices_medusa_cannot_keep_exactly_are_refused() {
    assert!(amount("9.99").is_ok());
    assert!(amount("123456789012.345").is_ok(), "15 digits");
    assert!(amount("0.000000000000001").is_ok());
    assert!(amount("12.5000000000000000000").is_ok(), "trailing zeros");
    assert!(matches!(
        amount("1234567890123.456"),
        Err(PayloadError::InexactPrice(p)) if p == "1234567890123.456"
    ));
    let mut product = crate::domain::sample("17");
    product.variants[0].prices[0].amount = Price::parse("1234567890123.456").unwrap();
    assert!(Raw::of(&owed(product), &eur(), &mut Skipped::new()).is_err());
}
