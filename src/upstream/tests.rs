use super::*;

/// reqwest builds a rustls configuration even for plain HTTP: install the one provider.
fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[test]
fn event_products_are_read_with_the_sources_mapping() {
    init();
    let text = r#"
[list]
url = "https://shop.example/wc/v3/products"
[list.paging]
style = "page"
[item]
url = "https://shop.example/wc/v3/products/{id}"
[fields]
external_id = "/id"
title = "/name"
price = "/price"
updated_at = "/date_modified_gmt"
"#;
    let mut settings = UpstreamSettings::new(Url::parse("https://shop.example/").unwrap());
    settings.source = Some(Source::parse("woo.toml", text, |_| None).unwrap());
    let upstream = Upstream::new(&settings).unwrap();
    let product = upstream
        .event_product(
            r#"{"id":12,"name":"Lamp","price":"24.990","date_modified_gmt":"2026-12-01T10:00:00"}"#,
        )
        .unwrap()
        .unwrap();
    assert_eq!(product.price().unwrap().as_str(), "24.990");
    assert!(product.source_updated_at.is_some());
    let partial = upstream
        .event_product(r#"{"id":12,"name":"Lamp"}"#)
        .unwrap_err();
    assert!(
        partial
            .message
            .contains(r#"incomplete (missing price at "/price")"#),
        "{}",
        partial.message
    );

    let builtin = Upstream::new(&UpstreamSettings::new(
        Url::parse("https://dummyjson.com/products").unwrap(),
    ))
    .unwrap();
    let partial = builtin
        .event_product(r#"{"id":14,"title":"x"}"#)
        .unwrap_err();
    assert!(
        partial.message.contains("incomplete"),
        "{}",
        partial.message
    );
}

#[test]
fn an_event_record_missing_mapped_fields_is_incomplete_unless_they_may_be_omitted() {
    init();
    let source = |extra: &str| {
        let text = format!(
            r#"
[list]
url = "https://shop.example/wc/v3/products"
[list.paging]
style = "page"
[item]
url = "https://shop.example/wc/v3/products/{{id}}"
[fields]
external_id = "/id"
title = "/name"
price = "/price"
sku = "/sku"
images = "/images/*/src"
{extra}
"#
        );
        let mut settings = UpstreamSettings::new(Url::parse("https://shop.example/").unwrap());
        settings.source = Some(Source::parse("woo.toml", &text, |_| None).unwrap());
        Upstream::new(&settings).unwrap()
    };
    let strict = source("");
    let without_sku_and_images = r#"{"id":12,"name":"Lamp","price":"24.99"}"#;
    let refused = strict.event_product(without_sku_and_images).unwrap_err();
    assert_eq!(refused.product_id.as_deref(), Some("12"));
    assert!(
        refused
            .message
            .contains(r#"missing sku at "/sku", images at "/images/*/src""#),
        "{}",
        refused.message
    );
    // Present but empty is the upstream saying "none": taken as it is.
    let empty = strict
        .event_product(r#"{"id":12,"name":"Lamp","price":"24.99","sku":null,"images":[]}"#)
        .unwrap()
        .unwrap();
    assert!(empty.sku().is_none() && empty.images.is_empty());
    let lenient = source("[events]\nmay_omit = [\"sku\", \"images\"]");
    assert!(lenient.event_product(without_sku_and_images).is_ok());
    for (bad, problem) in [("title", "required"), ("colour", "not a mapped key")] {
        let text = format!(
            "[list]\nurl = \"https://s.example/p\"\n[list.paging]\nstyle = \"page\"\n[item]\nurl = \"https://s.example/p/{{id}}\"\n[fields]\nexternal_id = \"/id\"\ntitle = \"/t\"\nprice = \"/p\"\n[events]\nmay_omit = [\"{bad}\"]\n"
        );
        let error = Source::parse("s.toml", &text, |_| None).unwrap_err();
        assert_eq!(error.key, "events.may_omit");
        assert!(error.problem.contains(problem), "{}", error.problem);
    }
}

#[test]
fn an_event_record_whose_variants_have_their_own_endpoint_is_fetched_instead() {
    init();
    let text = "preset = \"woocommerce\"\nbase_url = \"https://shop.example\"\n";
    let env = |name: &str| name.starts_with("WC_").then(|| "k".to_owned());
    let mut settings = UpstreamSettings::new(Url::parse("https://shop.example/").unwrap());
    settings.source = Some(Source::parse("woo.toml", text, env).unwrap());
    let upstream = Upstream::new(&settings).unwrap();
    let record = |variations: &str| {
        format!(
            r#"{{"id":40,"name":"Hoodie","description":"","categories":[],"brands":[],"images":[],
            "tags":[],"date_modified_gmt":"2026-12-01T10:00:00","attributes":[],"sku":"H",
            "stock_quantity":null,"regular_price":"10","sale_price":"","variations":{variations}}}"#
        )
    };
    assert!(
        upstream
            .event_product(&record("[41,42]"))
            .unwrap()
            .is_none(),
        "a variable product's variations are not in the event"
    );
    let simple = upstream.event_product(&record("[]")).unwrap().unwrap();
    assert_eq!(
        simple.variants.len(),
        1,
        "a simple product is its own variant"
    );
    let url = urls::id_url(
        "https://shop.example/wp-json/wc/v3/products/{id}/variations",
        "40",
        &[("per_page".into(), "100".into())],
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        "https://shop.example/wp-json/wc/v3/products/40/variations?per_page=100"
    );
}

#[test]
fn item_urls_take_the_id_as_one_escaped_segment() {
    init();
    let upstream = Upstream::new(&UpstreamSettings::new(
        Url::parse("https://dummyjson.com/products").unwrap(),
    ))
    .unwrap();
    let url = upstream.item_url("sku:9@b~x").unwrap();
    assert_eq!(url.path(), "/products/sku:9@b~x");
    assert!(
        url.query().unwrap().starts_with("select=id%2Ctitle"),
        "the preset's field selection: {url}"
    );
    assert_eq!(
        upstream.item_url("a/b?c").unwrap().path(),
        "/products/a%2Fb%3Fc"
    );
}

#[test]
fn no_product_id_changes_the_origin_of_an_item_request() {
    init();
    let text = r#"
[list]
url = "https://shop.example/products"
[list.paging]
style = "page"
[item]
url = "https://shop.example/products/{id}"
[fields]
external_id = "/id"
title = "/name"
price = "/price"
"#;
    let mut source = Source::parse("shop.toml", text, |_| None).unwrap();
    // Item URLs the source check refuses, as if one had got past it.
    for template in [
        "http://{id}/products",
        "http://shop.example{id}/products",
        "http://{id}.shop.example/products",
    ] {
        source.item.url = template.into();
        let mut settings = UpstreamSettings::new(Url::parse("https://shop.example/").unwrap());
        settings.source = Some(source.clone());
        let upstream = Upstream::new(&settings).unwrap();
        for id in ["localhost:18101", "evil.example", "7"] {
            // Refused: as another origin, or as no URL at all (`localhost:18101.shop.example`).
            assert!(upstream.item_url(id).is_err(), "{template} {id}");
        }
        let refused = upstream.item_url("evil.example").unwrap_err();
        assert!(refused.to_string().contains("another origin"), "{refused}");
    }
    // SYNC_API_URL is the built-in source's template: braces in its host do not make one.
    let builtin = Upstream::new(&UpstreamSettings::new(
        Url::parse("http://{id}/products").unwrap(),
    ))
    .unwrap();
    assert!(builtin.item_url("localhost:18101").is_err());
    source.item.url = "https://shop.example/products/{id}".into();
    let mut settings = UpstreamSettings::new(Url::parse("https://shop.example/").unwrap());
    settings.source = Some(source);
    let upstream = Upstream::new(&settings).unwrap();
    assert_eq!(
        upstream.item_url("localhost:18101").unwrap().as_str(),
        "https://shop.example/products/localhost:18101"
    );
}

mod readme_example {
    //! The README's walk-through ("From a sample response to a working file") is real: its
    //! source file reads its sample page as it says.

    use super::*;

    /// The text of the first fenced block of `kind` after `heading` in the README.
    fn block(kind: &str, heading: &str) -> String {
        let readme = include_str!("../../README.md");
        let after = &readme[readme.find(heading).expect("the heading is in the README")..];
        let start = after.find(&format!("```{kind}\n")).expect("the block") + kind.len() + 4;
        let end = start + after[start..].find("```").expect("the block ends");
        after[start..end].to_owned()
    }

    #[test]
    fn the_walk_through_source_reads_its_sample_page() {
        const HEADING: &str = "### From a sample response to a working file";
        let text = block("toml", HEADING);
        let source = Source::parse("shop.toml", &text, |name| {
            (name == "SHOP_API_TOKEN").then(|| "t0ken".to_owned())
        })
        .unwrap();
        let body = block("json", HEADING);
        let url = Url::parse("https://shop.example/api/v2/items?per_page=100&page=1").unwrap();
        let at = PageAt::first(100);
        let page = listing::decode(&source, &at, &url, &HeaderMap::new(), body.as_bytes()).unwrap();
        assert_eq!(page.total, Some(1873));
        assert_eq!(
            page.next,
            Some(PageAt::Offset {
                skip: 100,
                limit: 100
            }),
            "the README's `next page skip=100 limit=100`; here the page held 1 of 100 asked, but the total says more"
        );
        let product = mapping::product(&source.fields, page.records[0]).unwrap();
        assert_eq!(product.external_id, "LMP-12");
        assert_eq!(product.price().unwrap().as_str(), "24.990");
        assert_eq!(product.stock(), Some(12));
        assert_eq!(product.category(), Some("lighting"));
        assert_eq!(product.categories[0].name.as_deref(), Some("Lighting"));
        assert_eq!(product.images, ["https://cdn.example/lmp-12.jpg"]);
        assert_eq!(
            product.source_updated_at.unwrap().to_rfc3339(),
            "2025-12-01T12:00:00+00:00"
        );
    }
}
