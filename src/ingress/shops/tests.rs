use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

fn published(action: Action) -> (ProductUpdated, Option<String>) {
    match action {
        Action::Publish(p) => {
            assert_eq!(p.kind, Kind::ProductUpdated);
            let event = ProductUpdated::decode(&p.body).unwrap();
            assert_eq!(p.product_id.as_deref(), Some(event.product_id.as_str()));
            (event, p.message_id)
        }
        Action::Ignore(why) => panic!("ignored: {why}"),
    }
}

/// A Shopify body as Shopify writes it: `/` escaped as `\/`, the shop's offset in `updated_at`.
const SHOPIFY_PRODUCT: &str = r#"{"id":632910392,"title":"IPod Nano - 8GB","body_html":"<p>It's the small iPod.<\/p>","updated_at":"2026-12-01T10:30:00-05:00","variants":[{"id":808950810,"price":"199.00"}]}"#;

#[test]
fn a_shopify_update_carries_the_body_byte_for_byte_with_its_version() {
    let h = headers(&[
        ("X-Shopify-Topic", "products/update"),
        ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
    ]);
    let (event, id) = published(shopify(&h, SHOPIFY_PRODUCT.as_bytes()).unwrap());
    assert_eq!(event.product_id, "632910392");
    assert_eq!(
        event.updated_at,
        Some("2026-12-01T15:30:00Z".parse().unwrap())
    );
    assert!(!event.deleted);
    assert_eq!(event.product.unwrap().get(), SHOPIFY_PRODUCT);
    assert_eq!(
        id.as_deref(),
        Some("shopify-98880550-7158-44d4-b7cd-2c97c8a091b5")
    );
    // Without an event id, the webhook id deduplicates.
    let h = headers(&[
        ("X-Shopify-Topic", "products/create"),
        ("X-Shopify-Webhook-Id", "b54557e4"),
    ]);
    let (_, id) = published(shopify(&h, SHOPIFY_PRODUCT.as_bytes()).unwrap());
    assert_eq!(id.as_deref(), Some("shopify-b54557e4"));
}

#[test]
fn a_body_without_a_version_sends_only_the_id_so_the_worker_fetches() {
    let h = headers(&[("X-Shopify-Topic", "products/update")]);
    let (event, id) = published(shopify(&h, br#"{"id": 7, "title": "Lamp"}"#).unwrap());
    assert_eq!(
        (
            event.product_id.as_str(),
            event.updated_at,
            event.product.is_none()
        ),
        ("7", None, true)
    );
    assert_eq!(id, None, "no delivery id header: nothing to deduplicate by");
}

#[test]
fn deletions_carry_no_version_and_no_state_whatever_the_body_says() {
    // A replayed update body under a forged delete topic.
    let h = headers(&[("X-Shopify-Topic", "products/delete")]);
    let (event, _) = published(shopify(&h, SHOPIFY_PRODUCT.as_bytes()).unwrap());
    assert!(event.deleted);
    assert_eq!((event.updated_at, event.product.is_none()), (None, true));
    let h = headers(&[("X-WC-Webhook-Topic", "product.deleted")]);
    let (event, id) = published(woocommerce(&h, br#"{"id": 794}"#).unwrap());
    assert!(event.deleted && event.updated_at.is_none());
    assert_eq!((event.product_id.as_str(), id), ("794", None));
}

#[test]
fn woocommerce_changes_are_deduplicated_by_id_and_modification_time() {
    let body = br#"{"id": 794, "name": "Premium Quality", "date_modified_gmt": "2026-03-01T10:00:00", "type": "simple"}"#;
    for topic in ["product.created", "product.updated", "product.restored"] {
        let h = headers(&[("X-WC-Webhook-Topic", topic)]);
        let (event, id) = published(woocommerce(&h, body).unwrap());
        assert_eq!(
            event.updated_at,
            Some("2026-03-01T10:00:00Z".parse().unwrap())
        );
        assert_eq!(event.product.unwrap().get().as_bytes(), body);
        assert_eq!(id.as_deref(), Some("woocommerce-794-20260301T100000Z"));
    }
}

#[test]
fn pings_and_other_topics_publish_nothing() {
    let h = headers(&[]);
    assert!(is_woocommerce_ping(b"webhook_id=12"));
    assert!(!is_woocommerce_ping(b"webhook_id="));
    assert!(!is_woocommerce_ping(b"webhook_id=12&x=1"));
    assert!(matches!(
        woocommerce(&h, b"webhook_id=12"),
        Ok(Action::Ignore(_))
    ));
    let h = headers(&[("X-WC-Webhook-Topic", "order.created")]);
    assert!(matches!(woocommerce(&h, b"{}"), Ok(Action::Ignore(_))));
    let h = headers(&[("X-Shopify-Topic", "orders/create")]);
    assert!(matches!(shopify(&h, b"{}"), Ok(Action::Ignore(_))));
    let h = headers(&[]);
    assert!(matches!(
        standard(&h, br#"{"type": "invoice.paid", "data": {}}"#),
        Ok(Action::Ignore(_))
    ));
}

#[test]
fn unreadable_signed_bodies_say_why() {
    let h = headers(&[("X-Shopify-Topic", "products/update")]);
    for body in [
        &b"not json"[..],
        br#"{"title": "no id"}"#,
        br#"{"id": "a/b"}"#,
    ] {
        let error = shopify(&h, body).unwrap_err();
        assert!(error.0.starts_with("not a product body"), "{error}");
    }
    let h = headers(&[("webhook-id", "msg_1")]);
    for (body, reason) in [
        (&b"[]"[..], "not a Standard Webhooks body"),
        (br#"{"type": "product.updated"}"#, "needs its data"),
        (
            br#"{"type": "product.updated", "data": {"id": 1}}"#,
            "missing field `product_id`",
        ),
        (
            br#"{"type": "catalog.sync.requested", "data": {"mode": "sometimes"}}"#,
            "catalog.sync.requested:",
        ),
    ] {
        let error = standard(&h, body).unwrap_err();
        assert!(error.0.contains(reason), "{error} should say {reason}");
    }
}

#[test]
fn standard_webhooks_publish_their_data_as_it_came() {
    let h = headers(&[("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")]);
    let body = br#"{"type": "product.updated", "timestamp": "2026-12-01T10:00:00Z", "data": {"product_id": 14, "updated_at": "2026-12-01T09:30:00Z"}}"#;
    let Action::Publish(p) = standard(&h, body).unwrap() else {
        panic!("not published")
    };
    assert_eq!(p.kind, Kind::ProductUpdated);
    assert_eq!(
        p.body,
        br#"{"product_id": 14, "updated_at": "2026-12-01T09:30:00Z"}"#
    );
    assert_eq!(
        p.message_id.as_deref(),
        Some("standard-msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    );
    let body = br#"{"type": "catalog.sync.requested", "timestamp": "2026-12-01T10:00:00Z", "data": {"mode": "changes"}}"#;
    let Action::Publish(p) = standard(&h, body).unwrap() else {
        panic!("not published")
    };
    assert_eq!(
        (p.kind, p.body.as_slice()),
        (Kind::SyncRequested, &br#"{"mode": "changes"}"#[..])
    );
    // A delivery id that cannot be a message id is not used.
    let h = headers(&[("webhook-id", "msg 1/2")]);
    let Action::Publish(p) = standard(&h, body).unwrap() else {
        panic!("not published")
    };
    assert_eq!(p.message_id, None);
}

#[test]
fn a_woocommerce_variation_stands_for_its_product_which_the_worker_fetches() {
    let h = headers(&[("X-WC-Webhook-Topic", "product.updated")]);
    let variation = br#"{"id": 795, "parent_id": 794, "type": "variation", "date_modified_gmt": "2026-03-01T10:00:00", "regular_price": "21.99"}"#;
    let (event, id) = published(woocommerce(&h, variation).unwrap());
    assert_eq!(
        (
            event.product_id.as_str(),
            event.updated_at,
            event.product.is_none()
        ),
        ("794", None, true)
    );
    assert_eq!(id.as_deref(), Some("woocommerce-795-20260301T100000Z"));
    // A product's own parent_id is 0.
    let product = br#"{"id": 794, "parent_id": 0, "date_modified_gmt": "2026-03-01T10:00:00"}"#;
    let (event, _) = published(woocommerce(&h, product).unwrap());
    assert_eq!(event.product_id, "794");
    assert!(event.product.is_some());
}
