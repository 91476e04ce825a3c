//! A `product.updated` event as the engine applies it: the message, its version decided, and
//! its carried product checked against the upstream's format.

use chrono::{DateTime, Utc};

use crate::domain::Product;
use crate::messages::{InvalidMessage, ProductUpdated};
use crate::upstream::InvalidProduct;

/// One `product.updated` event.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductEvent {
    pub product_id: String,
    /// The event's version: its envelope `updated_at`, else the carried product's own update
    /// time. Nothing older than what is stored ever replaces it.
    pub version: Option<DateTime<Utc>>,
    /// The product is gone upstream: archive it (confirmed with the upstream first when the
    /// event has no version).
    pub deleted: bool,
    /// Event-carried state, applied without asking the upstream; only ever set together with a
    /// version (its `source_updated_at` is the version).
    pub product: Option<Product>,
    /// Order of arrival (the stream sequence), the tie-breaker between events of one product.
    pub sequence: u64,
}

impl ProductEvent {
    /// The event of a decoded message at stream position `sequence`, the carried product read
    /// by `read_product` (the source's mapping, see [`crate::engine::Engine::product_event`]).
    /// A carried product must be whole, valid and have the event's id. The version is the
    /// envelope's `updated_at`, else the product's own update time; carried state without any
    /// version is not trusted and is dropped, so the product is fetched instead. A version
    /// later than `latest` (the clock plus its tolerance) is refused: a publisher whose clock
    /// runs ahead would otherwise outrank every real change to the product.
    pub fn decode(
        message: ProductUpdated,
        sequence: u64,
        latest: DateTime<Utc>,
        read_product: impl Fn(&str) -> Result<Option<Product>, InvalidProduct>,
    ) -> Result<Self, InvalidMessage> {
        let carried = match &message.product {
            None => None,
            Some(raw) => read_product(raw.get()).map_err(|e| {
                InvalidMessage(format!("the event's product is not valid: {}", e.message))
            })?,
        };
        let carried = match carried {
            None => None,
            Some(product) => {
                if product.external_id != message.product_id {
                    return Err(InvalidMessage(format!(
                        "the event is for product {} but carries product {}",
                        message.product_id, product.external_id
                    )));
                }
                Some(product)
            }
        };
        let version = message
            .updated_at
            .or_else(|| carried.as_ref().and_then(|p| p.source_updated_at));
        if let Some(version) = version.filter(|v| *v > latest) {
            return Err(InvalidMessage(format!(
                "the event's version {} is later than {} (this worker's clock plus SYNC_FUTURE_TOLERANCE): a publisher's clock runs ahead, and the event would outrank every real change to product {}",
                version.to_rfc3339(),
                latest.to_rfc3339(),
                message.product_id
            )));
        }
        // A deletion needs no state; state without a version is not trusted.
        let deleted = message.deleted;
        let product = carried
            .filter(|_| !deleted && version.is_some())
            .map(|mut p| {
                p.source_updated_at = version;
                p
            });
        Ok(ProductEvent {
            product_id: message.product_id,
            version,
            deleted,
            product,
            sequence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &[u8], sequence: u64) -> Result<ProductEvent, InvalidMessage> {
        let latest = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z").unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builtin = crate::upstream::Upstream::new(&crate::settings::UpstreamSettings::new(
            reqwest::Url::parse("https://dummyjson.com/products").unwrap(),
        ))
        .unwrap();
        ProductEvent::decode(
            ProductUpdated::decode(body)?,
            sequence,
            latest.into(),
            |raw| builtin.event_product(raw),
        )
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
    fn the_envelopes_time_is_the_version_over_the_products_own() {
        let body = format!(
            r#"{{"product_id":7,"updated_at":"2026-01-01T00:00:00Z","product":{}}}"#,
            whole_product(7, "2025-06-01T00:00:00Z")
        );
        let carried = decode(body.as_bytes(), 3).unwrap();
        assert_eq!(carried.sequence, 3);
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
        let e = decode(body.as_bytes(), 1).unwrap();
        assert_eq!(e.version.unwrap().to_rfc3339(), "2025-06-01T00:00:00+00:00");
        assert!(e.product.is_some());
    }

    #[test]
    fn a_version_later_than_the_clocks_tolerance_is_refused() {
        for body in [
            r#"{"product_id":20,"deleted":true,"updated_at":"2099-01-01T00:00:00Z"}"#.to_owned(),
            format!(
                r#"{{"product_id":7,"product":{}}}"#,
                whole_product(7, "2030-01-01T00:00:00Z")
            ),
        ] {
            let refused = decode(body.as_bytes(), 1).unwrap_err();
            assert!(refused.0.contains("SYNC_FUTURE_TOLERANCE"), "{}", refused.0);
        }
        let on_time = r#"{"product_id":20,"deleted":true,"updated_at":"2026-12-31T23:59:59Z"}"#;
        assert!(decode(on_time.as_bytes(), 1).is_ok());
    }

    #[test]
    fn carried_state_without_any_version_is_dropped_for_a_fetch() {
        let mut product: serde_json::Value =
            serde_json::from_str(&whole_product(7, "2025-06-01T00:00:00Z")).unwrap();
        product["meta"] = serde_json::json!({"barcode": "1"});
        let body = serde_json::json!({"product_id": 7, "product": product}).to_string();
        let e = decode(body.as_bytes(), 1).unwrap();
        assert_eq!((e.version, e.product.is_none()), (None, true));
    }

    #[test]
    fn a_deletion_drops_carried_state() {
        let body = format!(
            r#"{{"product_id":7,"deleted":true,"product":{}}}"#,
            whole_product(7, "2025-06-01T00:00:00Z")
        );
        let e = decode(body.as_bytes(), 1).unwrap();
        assert!(e.deleted && e.product.is_none() && e.version.is_some());
    }

    #[test]
    fn carried_products_must_be_whole_valid_and_the_events_own() {
        for (body, reason) in [
            (
                r#"{"product_id":1,"product":{"id":1}}"#.to_owned(),
                "incomplete",
            ),
            (
                r#"{"product_id":14,"product":{"id":14,"title":"x"}}"#.to_owned(),
                "description at",
            ),
            (
                format!(
                    r#"{{"product_id":1,"product":{}}}"#,
                    whole_product(2, "2025-06-01T00:00:00Z")
                ),
                "carries product 2",
            ),
        ] {
            let error = decode(body.as_bytes(), 1).unwrap_err();
            assert!(error.0.contains(reason), "{error} should mention {reason}");
        }
    }
}
