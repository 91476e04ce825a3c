use super::*;
use reqwest::header::HeaderValue;

fn source(paging: &str, records: &str) -> Source {
    let text = format!(
        r#"
[list]
url = "https://shop.example/api/products"
records = "{records}"
page_size = 50
query = {{ status = "publish" }}
[list.paging]
{paging}
[item]
url = "https://shop.example/api/products/{{id}}"
[fields]
external_id = "/id"
title = "/name"
price = "/price"
"#
    );
    Source::parse("shop.toml", &text, |_| None).unwrap()
}

#[test]
fn each_style_asks_for_its_pages() {
    let offset = source(r#"style = "offset""#, "/data");
    let at = PageAt::Offset {
        skip: 100,
        limit: 50,
    };
    assert_eq!(
        url(
            &offset,
            &at,
            false,
            Some(("updated_since", "2026-01-01T00:00:00Z"))
        )
        .unwrap()
        .as_str(),
        "https://shop.example/api/products?status=publish&updated_since=2026-01-01T00%3A00%3A00Z&limit=50&offset=100"
    );
    let page = source(
        r#"style = "page"
limit_param = "per_page"
first_page = 1"#,
        "",
    );
    assert!(
        url(&page, &at, false, None)
            .unwrap()
            .as_str()
            .ends_with("?status=publish&per_page=50&page=3")
    );
    let cursor = source(
        r#"style = "cursor"
cursor = "/next""#,
        "/data",
    );
    assert!(
        url(&cursor, &PageAt::Cursor("abc".into()), false, None)
            .unwrap()
            .as_str()
            .ends_with("?status=publish&limit=50&cursor=abc")
    );
    assert!(
        url(&cursor, &PageAt::first(50), false, None)
            .unwrap()
            .as_str()
            .ends_with("?status=publish&limit=50")
    );
}

#[test]
fn a_next_url_on_another_origin_is_refused() {
    let next = source(
        r#"style = "next_url"
next_url = "/links/next""#,
        "/items",
    );
    let elsewhere = PageAt::Url(Url::parse("https://evil.example/steal?page=2").unwrap());
    assert!(url(&next, &elsewhere, false, None).is_err());
    let same = PageAt::Url(Url::parse("https://shop.example/api/products?after=9").unwrap());
    assert!(url(&next, &same, false, None).is_ok());
}

#[test]
fn answers_give_records_total_and_next_page() {
    let cursor = source(
        r#"style = "cursor"
cursor = "/next""#,
        "/data",
    );
    let base = Url::parse("https://shop.example/api/products").unwrap();
    let body = br#"{"data":[{"id":1},{"id":2}],"next":"c2"}"#;
    let page = decode(&cursor, &PageAt::first(2), &base, &HeaderMap::new(), body).unwrap();
    assert_eq!(page.records.len(), 2);
    assert_eq!(page.next, Some(PageAt::Cursor("c2".into())));
    for end in [r#"null"#, r#""""#] {
        let body = format!(r#"{{"data":[],"next":{end}}}"#);
        let page = decode(
            &cursor,
            &PageAt::first(2),
            &base,
            &HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(page.next, None);
    }

    let page_style = source(
        r#"style = "page"
total = "header:X-WP-Total""#,
        "",
    );
    let mut headers = HeaderMap::new();
    headers.insert("x-wp-total", HeaderValue::from_static("120"));
    let page = decode(
        &page_style,
        &PageAt::first(50),
        &base,
        &headers,
        b"[{\"id\":1}]",
    )
    .unwrap();
    assert_eq!((page.total, page.records.len()), (Some(120), 1));

    let offset = source(r#"style = "offset""#, "/data");
    let full = br#"{"data":[{"id":1},{"id":2}]}"#;
    let page = decode(&offset, &PageAt::first(2), &base, &HeaderMap::new(), full).unwrap();
    assert_eq!(page.next, Some(PageAt::Offset { skip: 2, limit: 2 }));
    let short = br#"{"data":[{"id":3}]}"#;
    let at = PageAt::Offset { skip: 2, limit: 2 };
    assert_eq!(
        decode(&offset, &at, &base, &HeaderMap::new(), short)
            .unwrap()
            .next,
        None
    );
    assert!(decode(&offset, &at, &base, &HeaderMap::new(), br#"{"items":[]}"#).is_err());
}

#[test]
fn link_headers_follow_rfc_8288() {
    let base = Url::parse("https://shop.example/admin/products.json?limit=50").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        LINK,
        HeaderValue::from_static(
            r#"<https://shop.example/admin/products.json?limit=50&page_info=p1>; rel="previous", </admin/products.json?limit=50&page_info=n2>; rel="next""#,
        ),
    );
    assert_eq!(
        next_link(&headers, &base).unwrap().unwrap().as_str(),
        "https://shop.example/admin/products.json?limit=50&page_info=n2"
    );
    let mut last = HeaderMap::new();
    last.insert(
        LINK,
        HeaderValue::from_static(r#"<https://shop.example/x?page_info=p1>; rel="previous""#),
    );
    assert_eq!(next_link(&last, &base).unwrap(), None);
    assert_eq!(next_link(&HeaderMap::new(), &base).unwrap(), None);
}
