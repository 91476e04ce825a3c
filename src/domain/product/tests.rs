use super::*;

pub(crate) fn sample(id: &str) -> Product {
    Product {
        external_id: id.to_owned(),
        title: "Essence Mascara Lash Princess".into(),
        description: "Volumizing mascara".into(),
        categories: vec![Category {
            slug: "beauty".into(),
            name: None,
        }],
        brand: Some("Essence".into()),
        tags: vec!["beauty".into(), "mascara".into()],
        images: vec!["https://cdn.example/1.webp".into()],
        thumbnail: Some("https://cdn.example/t.webp".into()),
        attributes: Attributes::from_map(
            serde_json::json!({"rating": 2.56, "dimensions": {"width": 15.14}})
                .as_object()
                .unwrap(),
        ),
        source_updated_at: None,
        options: Vec::new(),
        variants: vec![Product::single_variant(
            id,
            "Essence Mascara Lash Princess",
            Some("BEA-ESS-ESS-001".into()),
            Some(Price::parse("9.99").unwrap()),
            Some(99),
            &Currency::default(),
        )],
        currency: Currency::default(),
    }
}

/// A T-shirt in two sizes and two colours.
pub(crate) fn shirt(id: &str) -> Product {
    let mut p = sample(id);
    p.title = "Tee".into();
    p.options = vec![
        ProductOption {
            name: "Size".into(),
            values: vec!["S".into(), "M".into()],
        },
        ProductOption {
            name: "Color".into(),
            values: vec!["Black".into(), "White".into()],
        },
    ];
    p.variants = Vec::new();
    for (i, (size, color)) in [
        ("S", "Black"),
        ("S", "White"),
        ("M", "Black"),
        ("M", "White"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut v = Product::single_variant(
            &format!("{id}-{i}"),
            &format!("{size} / {color}"),
            Some(format!("TEE-{size}-{color}")),
            Some(Price::parse(&format!("{}.00", 20 - i)).unwrap()),
            Some(i as i64),
            &Currency::default(),
        );
        v.options = vec![("Size".into(), size.into()), ("Color".into(), color.into())];
        p.variants.push(v);
    }
    p
}

#[test]
fn equal_products_hash_equal_and_any_field_change_shows() {
    let a = sample("1");
    assert_eq!(a.content_hash(), sample("1").content_hash());
    let mut b = sample("1");
    b.variants[0].stock = Some(98);
    assert_ne!(a.content_hash(), b.content_hash());
    let mut c = sample("1");
    c.attributes = Attributes::from_map(
        serde_json::json!({"rating": 2.57, "dimensions": {"width": 15.14}})
            .as_object()
            .unwrap(),
    );
    assert_ne!(a.content_hash(), c.content_hash());
    let mut d = sample("1");
    d.brand = None;
    assert_ne!(a.content_hash(), d.content_hash());
}

#[test]
fn products_need_an_id_and_a_title() {
    assert!(sample("1").validate().is_ok());
    assert_eq!(
        sample("").validate(),
        Err(ProductError::BadId(IdError::Empty))
    );
    assert!(matches!(
        sample("..").validate(),
        Err(ProductError::BadId(IdError::DotSegment(_)))
    ));
    let mut untitled = sample("7");
    untitled.title = "  ".into();
    assert_eq!(
        untitled.validate(),
        Err(ProductError::MissingTitle("7".into()))
    );
}

#[test]
fn empty_list_items_and_control_characters_are_dropped() {
    let mut p = sample("1");
    p.tags = vec!["a\u{1f}b".into(), "".into(), " ".into(), "c".into()];
    let p = p.validate().unwrap();
    assert_eq!(p.tags, vec!["ab", "c"]);
}

#[test]
fn a_products_sku_price_stock_and_category_come_from_its_variants_and_categories() {
    let p = shirt("9");
    assert_eq!(p.sku(), Some("TEE-S-Black"));
    assert_eq!(
        p.price().unwrap().as_str(),
        "17.00",
        "the lowest base price"
    );
    assert_eq!(p.stock(), Some(6), "the sum");
    let mut none = shirt("9");
    none.variants.iter_mut().for_each(|v| v.stock = None);
    assert_eq!(none.stock(), None);
    let mut usd = shirt("9");
    usd.currency = Currency::parse("usd").unwrap();
    assert_eq!(usd.price(), None, "no base price in the source's currency");
    assert_eq!(p.category(), Some("beauty"));
}

#[test]
fn the_hash_covers_variants_options_and_categories() {
    let a = shirt("9");
    let mut b = shirt("9");
    b.variants[3].prices[0].amount = Price::parse("16.99").unwrap();
    assert_ne!(a.content_hash(), b.content_hash(), "one variant's price");
    let mut c = shirt("9");
    c.options[1].values.reverse();
    assert_ne!(a.content_hash(), c.content_hash(), "option order");
    let mut d = shirt("9");
    d.categories.push(Category {
        slug: "tops".into(),
        name: None,
    });
    assert_ne!(a.content_hash(), d.content_hash(), "a second category");
    let mut e = shirt("9");
    e.categories[0].name = Some("Beauty & Care".into());
    assert_eq!(
        a.content_hash(),
        e.content_hash(),
        "names are not the product's"
    );
    let mut g = sample("1");
    g.variants[0].barcode = Some("4006381333931".into());
    assert_ne!(
        sample("1").content_hash(),
        g.content_hash(),
        "a variant's barcode"
    );
    let mut h = sample("1");
    h.variants[0].external_id = "v-1".into();
    assert_ne!(
        sample("1").content_hash(),
        h.content_hash(),
        "a variant's own id"
    );
    let mut f = sample("1");
    f.currency = Currency::parse("usd").unwrap();
    f.variants[0].prices[0].currency = f.currency;
    assert_ne!(sample("1").content_hash(), f.content_hash(), "the currency");
}

#[test]
fn variants_need_distinct_ids_and_there_is_a_limit() {
    let mut p = shirt("9");
    p.variants[1].external_id = p.variants[0].external_id.clone();
    assert!(matches!(
        p.validate(),
        Err(ProductError::BadVariants { .. })
    ));
    let mut p = shirt("9");
    p.variants.clear();
    assert!(matches!(
        p.validate(),
        Err(ProductError::BadVariants { .. })
    ));
    let mut p = shirt("9");
    let template = p.variants[0].clone();
    p.variants = (0..=MAX_VARIANTS)
        .map(|i| Variant {
            external_id: i.to_string(),
            ..template.clone()
        })
        .collect();
    assert!(matches!(
        p.validate(),
        Err(ProductError::BadVariants { .. })
    ));
    let mut p = shirt("9");
    p.variants[2].stock = Some(-1);
    assert!(matches!(
        p.validate(),
        Err(ProductError::NegativeStock { .. })
    ));
    let mut p = shirt("9");
    p.variants[2].options[0].1 = "X\u{0}".into();
    assert!(matches!(
        p.validate(),
        Err(ProductError::NulCharacter {
            field: "variants",
            ..
        })
    ));
    let mut p = sample("1");
    p.categories.push(p.categories[0].clone());
    assert_eq!(p.validate().unwrap().categories.len(), 1, "repeats dropped");
}

#[test]
fn negative_stock_and_nul_characters_are_refused() {
    let mut p = sample("1");
    p.variants[0].stock = Some(-1);
    assert_eq!(
        p.validate(),
        Err(ProductError::NegativeStock {
            id: "1".into(),
            stock: -1
        })
    );
    let mut p = sample("2");
    p.title = "Lamp\u{0}".into();
    assert!(matches!(
        p.validate(),
        Err(ProductError::NulCharacter { field: "title", .. })
    ));
    let mut p = sample("3");
    p.attributes = Attributes::from_map(
        serde_json::json!({"meta": {"barcode": "1\u{0}"}})
            .as_object()
            .unwrap(),
    );
    assert!(matches!(
        p.validate(),
        Err(ProductError::NulCharacter {
            field: "attributes",
            ..
        })
    ));
    let mut p = sample("4");
    p.tags = vec!["a\u{0}b".into()];
    assert_eq!(
        p.validate().unwrap().tags,
        vec!["ab"],
        "lists drop control characters"
    );
}

#[test]
fn category_names_come_from_slugs() {
    assert_eq!(category_name("home-decoration"), "Home Decoration");
    assert_eq!(category_name("laptops"), "Laptops");
    assert_eq!(category_name("mens_shirts"), "Mens Shirts");
}

/// The hashes stored by earlier versions stay valid: a catalog is not rewritten after an
/// upgrade only because the hashing code changed.
#[test]
fn hashes_are_those_earlier_versions_stored() {
    let hex = |h: ContentHash| h.0.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut sale = shirt("9");
    sale.variants[1].prices[0].starts_at = Some("2026-01-02T03:04:05Z".parse().unwrap());
    let printed = [
        hex(sample("1").content_hash()),
        hex(shirt("9").content_hash()),
        hex(sale.content_hash()),
        hex(shirt("9").variants[2].content_hash(2)),
        hex(sample("1").variants[0].content_hash(0)),
    ];
    assert_eq!(
        printed,
        [
            "3faab0d92f8defc3ca52dcf64e8a3ad1",
            "082dff3e2958782f7836476d3e3f7d05",
            "557dffbd27bb2694b61b5ae59c4f85b7",
            "8dd258d154d147b09183e69f4de24de5",
            "88ccbc31ff5ab017da9cac88c2fddde7",
        ]
    );
}
