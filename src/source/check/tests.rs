use super::*;
use crate::source::RateLimit;

fn env(name: &str) -> Option<String> {
    match name {
        "SHOP_USER" => Some("sync".into()),
        "SHOP_PASSWORD" => Some("s3cret".into()),
        "SHOP_TOKEN" => Some("t0ken".into()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Source, SourceError> {
    Source::parse("shop.toml", text, env)
}

fn error(text: &str) -> SourceError {
    parse(text).expect_err("the file is refused")
}

/// A minimal valid file around `paging` (a `[list.paging]` body) and `extra` tables.
fn with(paging: &str, extra: &str) -> String {
    format!(
        r#"
[list]
url = "https://shop.example/api/products"
records = "/data"
[list.paging]
{paging}

[item]
url = "https://shop.example/api/products/{{id}}"

[fields]
external_id = "/id"
title = "/name"
price = "/price"
{extra}
"#
    )
}

#[test]
fn the_built_in_source_is_dummyjson() {
    let url = Url::parse("http://127.0.0.1:8090/products").unwrap();
    let source = Source::dummyjson(&url);
    assert_eq!(source.list.url, url);
    assert_eq!(source.item.url, "http://127.0.0.1:8090/products/{id}");
    assert_eq!(
        source.list.paging,
        Paging::Offset {
            limit_param: "limit".into(),
            offset_param: "skip".into(),
            total: Some(Total::Body(Pointer::parse("/total").unwrap())),
        }
    );
    assert_eq!(source.list.records, Pointer::parse("/products").unwrap());
    assert!(matches!(source.auth, Auth::None));
    assert!(source.changes.is_none() && source.rate_limit.is_none());
}

#[test]
fn a_preset_is_the_base_and_the_file_overrides_it() {
    let source = parse(
        r#"
preset = "dummyjson"
[list]
url = "https://mirror.example/products"
page_size = 30
[fields]
price = "/cost"
[rate_limit]
requests = 100
per = "10s"
"#,
    )
    .unwrap();
    assert_eq!(source.list.url.as_str(), "https://mirror.example/products");
    assert_eq!(source.list.page_size, 30);
    assert_eq!(
        source.list.records,
        Pointer::parse("/products").unwrap(),
        "from the preset"
    );
    assert_eq!(source.fields.price, Some(Pointer::parse("/cost").unwrap()));
    assert_eq!(source.fields.title, Pointer::parse("/title").unwrap());
    assert_eq!(
        source.rate_limit,
        Some(RateLimit {
            requests: 100,
            per: Duration::from_secs(10)
        })
    );
}

#[test]
fn every_style_and_auth_type_reads() {
    let page = parse(&with(
        r#"style = "page"
limit_param = "per_page"
total = "header:X-WP-Total""#,
        r#"[auth]
type = "basic"
user_env = "SHOP_USER"
password_env = "SHOP_PASSWORD"
[changes]
param = "modified_after"
"#,
    ))
    .unwrap();
    assert_eq!(
        page.list.paging,
        Paging::Page {
            limit_param: "per_page".into(),
            page_param: "page".into(),
            first_page: 1,
            total: Some(Total::Header(HeaderName::from_static("x-wp-total"))),
        }
    );
    assert!(
        matches!(&page.auth, Auth::Basic { user, password } if user == "sync" && password.expose() == "s3cret")
    );
    assert_eq!(
        page.changes,
        Some(Changes {
            param: "modified_after".into(),
            format: TimeFormat::Rfc3339,
            overlap: Duration::from_secs(300),
        })
    );
    let cursor = parse(&with(
        r#"style = "cursor"
cursor = "/meta/next""#,
        "[auth]\ntype = \"bearer\"\ntoken_env = \"SHOP_TOKEN\"",
    ))
    .unwrap();
    assert!(
        matches!(cursor.list.paging, Paging::Cursor { ref cursor_param, .. } if cursor_param == "cursor")
    );
    assert!(matches!(&cursor.auth, Auth::Bearer { token } if token.expose() == "t0ken"));
    let link = parse(&with(r#"style = "link_header""#, "")).unwrap();
    assert_eq!(
        link.list.paging,
        Paging::LinkHeader {
            limit_param: "limit".into()
        }
    );
    let next = parse(&with(
        r#"style = "next_url"
next_url = "/links/next""#,
        "",
    ))
    .unwrap();
    assert!(matches!(next.list.paging, Paging::NextUrl { .. }));
}

#[test]
fn bad_files_name_the_file_the_key_and_the_problem() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            with(r#"style = "scroll""#, ""),
            "list.paging.style",
            "unknown style \"scroll\"",
        ),
        (
            with(r#"style = "offset""#, "").replace(r#"price = "/price""#, r#"price = "price""#),
            "fields.price",
            "not a JSON Pointer",
        ),
        (
            with(r#"style = "offset""#, "").replace(
                r#"url = "https://shop.example/api/products"
"#,
                "",
            ),
            "list.url",
            "missing",
        ),
        (
            with(
                r#"style = "offset""#,
                "[auth]\ntype = \"bearer\"\ntoken = \"abc\"",
            ),
            "auth.token",
            "never written in the file",
        ),
        (
            with(
                r#"style = "offset""#,
                "[auth]\ntype = \"bearer\"\ntoken_env = \"NOPE\"",
            ),
            "auth.token_env",
            "NOPE is not set",
        ),
        (
            with("style = \"offset\"\ncursor = \"/next\"", ""),
            "list.paging.cursor",
            "does not apply to style \"offset\"",
        ),
        (
            with("style = \"cursor\"", ""),
            "list.paging.cursor",
            "missing",
        ),
        (
            with(r#"style = "offset""#, "").replace("/{id}", "/"),
            "item.url",
            "must contain {id}",
        ),
        (
            with(r#"style = "offset""#, "").replace("https://shop", "https://u:p@shop"),
            "list.url",
            "carries credentials",
        ),
        (
            with(r#"style = "offset""#, "").replace(r#"title = "/name""#, r#"title = "/names/*""#),
            "fields.title",
            "selects several values",
        ),
        (
            with(r#"style = "offset""#, "").replace("records =", "recrods ="),
            "list.recrods",
            "unknown field `recrods`",
        ),
        (
            format!("preset = \"woo\"\n{}", with(r#"style = "offset""#, "")),
            "preset",
            "unknown preset",
        ),
        (
            with(
                r#"style = "offset""#,
                "[rate_limit]\nrequests = 0\nper = \"1s\"",
            ),
            "rate_limit.requests",
            "at least 1",
        ),
    ];
    for (text, key, problem) in cases {
        let e = error(&text);
        assert_eq!(e.file, "shop.toml");
        assert_eq!(e.key, key, "{e}");
        assert!(e.problem.contains(problem), "{e} should say {problem}");
        assert!(
            e.to_string().starts_with(&format!("shop.toml: {key}: ")),
            "{e}"
        );
    }
    let broken = error("[list\nurl = 1");
    assert!(
        broken.key.is_empty() && broken.to_string().starts_with("shop.toml: "),
        "{broken}"
    );
}

#[test]
fn the_id_may_stand_only_in_the_item_urls_path_or_query() {
    let item = |url: &str| {
        with(r#"style = "offset""#, "").replace("https://shop.example/api/products/{id}", url)
    };
    for (url, part) in [
        ("http://{id}/products", "host"),
        ("http://{id}.shop.example/products", "host"),
        ("https://shop.example{id}/products", "host"),
        ("http:{id}/products", "host"),
        ("http://shop.example:{id}/products", "port"),
        ("http://shop.example:80{id}/products", "port"),
        ("{id}://shop.example/products", "scheme"),
        ("http://{id}@shop.example/products", "user info"),
        ("https://shop.example/products#{id}", "fragment"),
    ] {
        let e = error(&item(url));
        assert_eq!(e.key, "item.url", "{url}: {e}");
        assert!(
            e.problem.contains(&format!("{{id}} stands in the {part}")),
            "{url}: {e}"
        );
        assert!(e.to_string().starts_with("shop.toml: item.url: "), "{e}");
    }
    for url in [
        "https://shop.example/p/{id}",
        "https://shop.example/p/{id}.json",
        "https://shop.example/p?id={id}",
        "https://shop.example/p/{id}/variants?of={id}",
    ] {
        let source = parse(&item(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(source.item.url, url);
    }
}

#[test]
fn a_missing_file_is_named() {
    let e = Source::load(std::path::Path::new("/nonexistent/shop.toml")).unwrap_err();
    assert_eq!(e.file, "/nonexistent/shop.toml");
    assert!(e.problem.contains("cannot read it"), "{e}");
}

#[test]
fn the_ready_source_files_are_valid() {
    let any = |_: &str| Some("from-the-environment".to_owned());
    for (name, text) in [
        (
            "dummyjson.toml",
            include_str!("../../../sources/dummyjson.toml"),
        ),
        (
            "woocommerce.toml",
            include_str!("../../../sources/woocommerce.toml"),
        ),
        (
            "shopify.toml",
            include_str!("../../../sources/shopify.toml"),
        ),
    ] {
        // The shop presets are written from the shop's address.
        let text = if text.contains("{base_url}") {
            format!("base_url = \"https://shop.example\"\n{text}")
        } else {
            text.to_owned()
        };
        let source = Source::parse(name, &text, any).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            source.changes.is_some() || name == "dummyjson.toml",
            "{name}"
        );
    }
    let shop = "base_url = \"https://shop.example\"\n";
    let woo = Source::parse("w", &format!("preset = \"woocommerce\"\n{shop}"), any).unwrap();
    assert!(matches!(woo.list.paging, Paging::Page { .. }));
    assert!(matches!(woo.auth, Auth::Basic { .. }));
    let endpoint = woo.fields.variants.unwrap().endpoint.unwrap();
    assert_eq!(
        endpoint.url,
        "https://shop.example/wp-json/wc/v3/products/{id}/variations"
    );
    let shopify = Source::parse("s", &format!("preset = \"shopify\"\n{shop}"), any).unwrap();
    assert!(matches!(shopify.list.paging, Paging::LinkHeader { .. }));
    assert_eq!(shopify.rate_limit.unwrap().requests, 2);
}
