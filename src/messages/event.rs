//! `product.updated`: a product changed or was deleted upstream.
//!
//! ```json
//! {"product_id": 14, "updated_at": "2026-12-01T09:30:00Z", "deleted": false,
//!  "product": { ...the whole product, as the upstream serves it... }}
//! ```
//!
//! `product_id` is required; the rest is optional. What the worker does with an event (which
//! version wins, when it fetches instead of trusting the body) is the engine's rule; this type
//! is only the message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::InvalidMessage;
use crate::domain::ProductId;

/// A decoded `product.updated` event with a valid product id.
#[derive(Clone, Debug)]
pub struct ProductUpdated {
    pub product_id: String,
    /// When the product changed upstream: the event's version.
    pub updated_at: Option<DateTime<Utc>>,
    /// The product is gone upstream.
    pub deleted: bool,
    /// The whole product object as the upstream serves it, carried so the worker need not ask
    /// the upstream; checked by the engine against the upstream's format.
    pub product: Option<Box<RawValue>>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    product_id: ProductId,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<Box<RawValue>>,
}

impl ProductUpdated {
    /// An event that says product `product_id` changed, with nothing else.
    pub fn changed(product_id: impl Into<String>) -> Self {
        ProductUpdated {
            product_id: product_id.into(),
            updated_at: None,
            deleted: false,
            product: None,
        }
    }

    /// The body to publish.
    pub fn encode(&self) -> Vec<u8> {
        let wire = Wire {
            product_id: ProductId(self.product_id.clone()),
            updated_at: self.updated_at,
            deleted: self.deleted.then_some(true),
            product: self.product.clone(),
        };
        serde_json::to_vec(&wire).expect("a product event always encodes")
    }

    pub fn decode(body: &[u8]) -> Result<Self, InvalidMessage> {
        let wire: Wire = serde_json::from_slice(body)
            .map_err(|e| InvalidMessage(format!("not a product event: {e}")))?;
        Ok(ProductUpdated {
            product_id: wire.product_id.0,
            updated_at: wire.updated_at,
            deleted: wire.deleted.unwrap_or(false),
            // `"product": null` is the same as no product.
            product: wire.product.filter(|raw| raw.get() != "null"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_an_id_and_maybe_a_product() {
        let e = ProductUpdated::decode(br#"{"product_id":7}"#).unwrap();
        assert_eq!(
            (e.product_id.as_str(), e.deleted, e.product.is_none()),
            ("7", false, true)
        );
        let gone = ProductUpdated::decode(
            br#"{"product_id":"7","deleted":true,"updated_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(gone.deleted && gone.updated_at.is_some());
        let null = ProductUpdated::decode(br#"{"product_id":7,"product":null}"#).unwrap();
        assert!(null.product.is_none());
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_event() {
        let event = ProductUpdated {
            product_id: "sku-9".into(),
            updated_at: Some("2026-12-01T09:30:00Z".parse().unwrap()),
            deleted: true,
            product: Some(RawValue::from_string(r#"{"id":"sku-9"}"#.into()).unwrap()),
        };
        let decoded = ProductUpdated::decode(&event.encode()).unwrap();
        assert_eq!(decoded.product_id, event.product_id);
        assert_eq!(decoded.updated_at, event.updated_at);
        assert!(decoded.deleted);
        assert_eq!(decoded.product.unwrap().get(), r#"{"id":"sku-9"}"#);
        assert_eq!(
            ProductUpdated::changed("3").encode(),
            br#"{"product_id":"3"}"#.to_vec()
        );
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
            (br#"{"product_id":1,"deleted":"yes"}"#, "invalid type"),
        ] {
            let error = ProductUpdated::decode(body).unwrap_err();
            assert!(error.0.contains(reason), "{error} should mention {reason}");
        }
    }
}
