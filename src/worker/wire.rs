//! The bodies of `catalog.sync.requested` and `product.updated`, decoded strictly: a message
//! that does not fit is dead-lettered with the reason, never retried.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::engine::{ProductEvent, RunRequest, Target};
use crate::upstream::{ExternalId, event_product_from_json};

#[derive(Deserialize)]
struct WireRequest {
    request_id: Option<String>,
    mode: Option<String>,
    product_ids: Option<Vec<ExternalId>>,
    dry_run: Option<bool>,
    reason: Option<String>,
    requested_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct WireEvent<'a> {
    product_id: ExternalId,
    updated_at: Option<DateTime<Utc>>,
    deleted: Option<bool>,
    #[serde(borrow)]
    product: Option<&'a RawValue>,
}

/// Decodes a `product.updated` body. An event-carried `product` must be a whole, valid product
/// with the event's id. The event's version is its envelope `updated_at`, else the product's own
/// update time; carried state without any version is not trusted and is dropped, so the worker
/// fetches the product instead.
pub(crate) fn decode_event(body: &[u8], sequence: u64) -> Result<ProductEvent, String> {
    let wire: WireEvent =
        serde_json::from_slice(body).map_err(|e| format!("not a product event: {e}"))?;
    let product_id = wire.product_id.0;
    let deleted = wire.deleted.unwrap_or(false);
    let carried = match wire.product.filter(|raw| raw.get() != "null") {
        None => None,
        Some(raw) => {
            let product = event_product_from_json(raw.get())
                .map_err(|e| format!("the event's product is not valid: {}", e.message))?;
            if product.external_id != product_id {
                return Err(format!(
                    "the event is for product {product_id} but carries product {}",
                    product.external_id
                ));
            }
            Some(product)
        }
    };
    let version = wire
        .updated_at
        .or_else(|| carried.as_ref().and_then(|p| p.source_updated_at));
    // A deletion needs no state; state without a version is not trusted.
    let product = carried
        .filter(|_| !deleted && version.is_some())
        .map(|mut p| {
            p.source_updated_at = version;
            p
        });
    Ok(ProductEvent {
        product_id,
        version,
        deleted,
        product,
        sequence,
    })
}

/// Decodes a request body; `message_id` is the message's `Nats-Msg-Id`, the default request id.
pub(crate) fn decode_request(body: &[u8], message_id: Option<&str>) -> Result<RunRequest, String> {
    let wire: WireRequest =
        serde_json::from_slice(body).map_err(|e| format!("not a sync request: {e}"))?;
    let ids: Vec<String> = wire
        .product_ids
        .unwrap_or_default()
        .into_iter()
        .map(|id| id.0)
        .collect();
    let target = match (wire.mode.as_deref(), ids.is_empty()) {
        (None | Some("full"), true) => Target::Full,
        (Some("full"), false) => return Err("mode \"full\" takes no product_ids".into()),
        (None | Some("products"), false) => Target::Products(ids),
        (Some("products"), true) => return Err("mode \"products\" needs product_ids".into()),
        (Some(other), _) => {
            return Err(format!(
                "unknown mode {other:?}: expected \"full\" or \"products\""
            ));
        }
    };
    let mut request = RunRequest::new(target);
    if let Some(id) = wire
        .request_id
        .or_else(|| message_id.map(str::to_owned))
        .filter(|id| !id.trim().is_empty())
    {
        if id.chars().count() > 200 {
            return Err("request_id is longer than 200 characters".into());
        }
        request.request_id = id;
    }
    request.dry_run = wire.dry_run.unwrap_or(false);
    request.reason = wire.reason;
    request.requested_at = wire.requested_at;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_object_is_a_full_sync() {
        let r = decode_request(b"{}", None).unwrap();
        assert_eq!(r.target, Target::Full);
        assert!(!r.dry_run);
        assert!(!r.request_id.is_empty());
    }

    #[test]
    fn request_id_comes_from_the_body_then_the_message_id() {
        assert_eq!(
            decode_request(br#"{"request_id":"a"}"#, Some("b"))
                .unwrap()
                .request_id,
            "a"
        );
        assert_eq!(decode_request(b"{}", Some("b")).unwrap().request_id, "b");
    }

    #[test]
    fn product_ids_may_be_strings_or_numbers() {
        let r = decode_request(
            br#"{"mode":"products","product_ids":[1,"sku-2"],"dry_run":true}"#,
            None,
        )
        .unwrap();
        assert_eq!(r.target, Target::Products(vec!["1".into(), "sku-2".into()]));
        assert!(r.dry_run);
        let implied = decode_request(br#"{"product_ids":[3]}"#, None).unwrap();
        assert_eq!(implied.target, Target::Products(vec!["3".into()]));
    }

    /// A whole DummyJSON product with this id and `meta.updatedAt`, as an event carries it.
    fn whole_product(id: u64, updated_at: &str) -> String {
        serde_json::json!({
            "id": id, "title": "Lamp", "description": "A lamp", "category": "lighting",
            "price": 12.5, "discountPercentage": 1.5, "rating": 4.1, "stock": 3,
            "tags": ["lamp"], "sku": "LIG-LAM-001", "weight": 2,
            "dimensions": {"width": 1, "height": 2, "depth": 3},
            "warrantyInformation": "1 year", "shippingInformation": "1 week",
            "availabilityStatus": "In Stock", "returnPolicy": "30 days",
            "minimumOrderQuantity": 1,
            "meta": {"createdAt": updated_at, "updatedAt": updated_at, "barcode": "1"},
            "images": ["https://cdn.example/1.webp"], "thumbnail": "https://cdn.example/t.webp"
        })
        .to_string()
    }

    #[test]
    fn events_carry_an_id_and_maybe_a_product() {
        let e = decode_event(br#"{"product_id":7}"#, 1).unwrap();
        assert_eq!(
            (e.product_id.as_str(), e.deleted, e.product.is_none()),
            ("7", false, true)
        );
        let gone = decode_event(
            br#"{"product_id":"7","deleted":true,"updated_at":"2026-01-01T00:00:00Z"}"#,
            2,
        )
        .unwrap();
        assert!(gone.deleted && gone.version.is_some());
        let body = format!(
            r#"{{"product_id":7,"updated_at":"2026-01-01T00:00:00Z","product":{}}}"#,
            whole_product(7, "2025-06-01T00:00:00Z")
        );
        let carried = decode_event(body.as_bytes(), 3).unwrap();
        let product = carried.product.unwrap();
        assert_eq!(product.title, "Lamp");
        assert_eq!(
            carried.version.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00",
            "the envelope's time is the version, over the product's own"
        );
        assert_eq!(product.source_updated_at, carried.version);
    }

    #[test]
    fn the_products_own_time_is_the_version_when_the_envelope_has_none() {
        let body = format!(
            r#"{{"product_id":7,"product":{}}}"#,
            whole_product(7, "2025-06-01T00:00:00Z")
        );
        let e = decode_event(body.as_bytes(), 1).unwrap();
        assert_eq!(e.version.unwrap().to_rfc3339(), "2025-06-01T00:00:00+00:00");
        assert!(e.product.is_some());
    }

    #[test]
    fn carried_state_without_any_version_is_dropped_for_a_fetch() {
        let mut product: serde_json::Value =
            serde_json::from_str(&whole_product(7, "2025-06-01T00:00:00Z")).unwrap();
        product["meta"] = serde_json::json!({"barcode": "1"});
        let body = serde_json::json!({"product_id": 7, "product": product}).to_string();
        let e = decode_event(body.as_bytes(), 1).unwrap();
        assert_eq!((e.version, e.product.is_none()), (None, true));
    }

    #[test]
    fn malformed_events_say_why() {
        for (body, reason) in [
            (&b"{}"[..], "missing field `product_id`"),
            (br#"{"product_id":[1]}"#, "product id"),
            (br#"{"product_id":".."}"#, "path segment"),
            (br#"{"product_id":"a/b"}"#, "contains '/'"),
            (
                br#"{"product_id":1,"updated_at":"yesterday"}"#,
                "not a product event",
            ),
            (br#"{"product_id":1,"product":{"id":1}}"#, "incomplete"),
            (
                br#"{"product_id":14,"product":{"id":14,"title":"x"}}"#,
                "missing description",
            ),
        ] {
            let error = decode_event(body, 1).unwrap_err();
            assert!(error.contains(reason), "{error} should mention {reason}");
        }
        let other = format!(
            r#"{{"product_id":1,"product":{}}}"#,
            whole_product(2, "2025-06-01T00:00:00Z")
        );
        let error = decode_event(other.as_bytes(), 1).unwrap_err();
        assert!(error.contains("carries product 2"), "{error}");
    }

    #[test]
    fn malformed_requests_say_why() {
        for (body, reason) in [
            (&b"not json"[..], "not a sync request"),
            (br#"{"mode":"everything"}"#, "unknown mode"),
            (br#"{"mode":"products"}"#, "needs product_ids"),
            (br#"{"dry_run":"yes"}"#, "invalid type"),
            (br#"{"product_ids":[true]}"#, "product id"),
            (br#"[]"#, "not a sync request"),
        ] {
            let error = decode_request(body, None).unwrap_err();
            assert!(error.contains(reason), "{error} should mention {reason}");
        }
    }
}
