//! The upstream's JSON: private serde shapes, converted to domain products at this boundary.
//! A page is split into raw elements first, so one malformed product costs that product only.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use super::UpstreamError;
use crate::domain::{Attributes, Price, Product, ProductError};

/// An element of the upstream's answer that is not a valid product.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidProduct {
    /// The element's id, when it has a readable one.
    pub product_id: Option<String>,
    pub message: String,
}

#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(borrow)]
    products: Vec<&'a RawValue>,
    total: u64,
}

#[derive(Deserialize)]
struct WireMessage {
    message: String,
}

#[derive(Deserialize)]
struct WireId {
    id: ExternalId,
}

/// A product id as the upstream and events send it: a number or a string (1 to 128
/// characters, trimmed), kept as text.
pub(crate) struct ExternalId(pub String);

impl<'de> Deserialize<'de> for ExternalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = ExternalId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a product id (string or integer)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExternalId, E> {
                Ok(ExternalId(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExternalId, E> {
                Ok(ExternalId(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExternalId, E> {
                let id = v.trim();
                if id.is_empty() || id.chars().count() > 128 {
                    return Err(E::custom("product ids are 1 to 128 characters"));
                }
                Ok(ExternalId(id.to_owned()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProduct {
    id: ExternalId,
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    price: Option<Number>,
    stock: Option<i64>,
    tags: Option<Vec<String>>,
    brand: Option<String>,
    sku: Option<String>,
    images: Option<Vec<String>>,
    thumbnail: Option<String>,
    meta: Option<Map<String, Value>>,
    discount_percentage: Option<Value>,
    rating: Option<Value>,
    weight: Option<Value>,
    dimensions: Option<Value>,
    warranty_information: Option<Value>,
    shipping_information: Option<Value>,
    availability_status: Option<Value>,
    return_policy: Option<Value>,
    minimum_order_quantity: Option<Value>,
}

impl WireProduct {
    fn into_product(self) -> Result<Product, ProductError> {
        let external_id = self.id.0;
        let price = self
            .price
            .map(|n| Price::parse(&external_id, &n.to_string()))
            .transpose()?;
        let source_updated_at = self
            .meta
            .as_ref()
            .and_then(|m| m.get("updatedAt"))
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut attributes = Map::new();
        for (key, value) in [
            ("discountPercentage", self.discount_percentage),
            ("rating", self.rating),
            ("weight", self.weight),
            ("dimensions", self.dimensions),
            ("warrantyInformation", self.warranty_information),
            ("shippingInformation", self.shipping_information),
            ("availabilityStatus", self.availability_status),
            ("returnPolicy", self.return_policy),
            ("minimumOrderQuantity", self.minimum_order_quantity),
            ("meta", self.meta.map(Value::Object)),
        ] {
            if let Some(value) = value.filter(|v| !v.is_null()) {
                attributes.insert(key.to_owned(), value);
            }
        }
        Product {
            external_id,
            title: self.title.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            category: self.category.filter(|c| !c.is_empty()),
            brand: self.brand.filter(|b| !b.is_empty()),
            sku: self.sku.filter(|s| !s.is_empty()),
            price,
            stock: self.stock,
            tags: self.tags.unwrap_or_default(),
            images: self.images.unwrap_or_default(),
            thumbnail: self.thumbnail.filter(|t| !t.is_empty()),
            attributes: Attributes::from_map(&attributes),
            source_updated_at,
        }
        .validate()
    }
}

/// Converts one upstream product object (as the API or an event carries it) to a product.
pub fn product_from_json(raw: &str) -> Result<Product, InvalidProduct> {
    match serde_json::from_str::<WireProduct>(raw) {
        Ok(wire) => wire.into_product().map_err(|e| InvalidProduct {
            product_id: id_of(raw),
            message: e.to_string(),
        }),
        Err(e) => Err(InvalidProduct {
            product_id: id_of(raw),
            message: format!("not a product object: {e}"),
        }),
    }
}

fn id_of(raw: &str) -> Option<String> {
    serde_json::from_str::<WireId>(raw).ok().map(|w| w.id.0)
}

fn json_error(e: serde_json::Error) -> UpstreamError {
    match e.classify() {
        serde_json::error::Category::Data => UpstreamError::Shape(e.to_string()),
        serde_json::error::Category::Eof => UpstreamError::BodyCut(e.to_string()),
        _ => UpstreamError::NotJson(e.to_string()),
    }
}

pub(crate) fn decode_page(body: &[u8]) -> Result<super::Page, UpstreamError> {
    let page: WirePage = serde_json::from_slice(body).map_err(json_error)?;
    Ok(super::Page {
        total: page.total,
        products: page
            .products
            .into_iter()
            .map(|raw| product_from_json(raw.get()))
            .collect(),
    })
}

pub(crate) fn decode_product(
    body: &[u8],
) -> Result<Result<Product, InvalidProduct>, UpstreamError> {
    let raw: &RawValue = serde_json::from_slice(body).map_err(json_error)?;
    Ok(product_from_json(raw.get()))
}

/// The `message` of an error body such as `{"message":"Product with id '7' not found"}`.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<WireMessage>(body)
        .ok()
        .map(|m| m.message.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE_PRODUCT: &str = r#"{"id":1,"title":"Essence Mascara Lash Princess",
        "description":"Popular mascara","category":"beauty","price":9.99,"discountPercentage":10.48,
        "rating":2.56,"stock":99,"tags":["beauty","mascara"],"brand":"Essence","sku":"BEA-ESS-ESS-001",
        "weight":4,"dimensions":{"width":15.14,"height":13.08,"depth":22.99},
        "availabilityStatus":"In Stock","reviews":[{"rating":3}],
        "meta":{"createdAt":"2025-04-30T09:41:02.053Z","updatedAt":"2025-04-30T09:41:02.053Z","barcode":"5784719087687"},
        "images":["https://cdn.example/1.webp"],"thumbnail":"https://cdn.example/t.webp"}"#;

    #[test]
    fn a_dummyjson_product_maps_every_kept_field() {
        let p = product_from_json(FIXTURE_PRODUCT).unwrap();
        assert_eq!(p.external_id, "1");
        assert_eq!(p.price.unwrap().as_str(), "9.99");
        assert_eq!(p.category.as_deref(), Some("beauty"));
        assert_eq!(p.tags, vec!["beauty", "mascara"]);
        assert_eq!(p.attributes.get("dimensions").unwrap()["depth"], 22.99);
        assert!(
            p.attributes.get("reviews").is_none(),
            "reviews are not catalog data"
        );
        assert_eq!(
            p.source_updated_at.unwrap().to_rfc3339(),
            "2025-04-30T09:41:02.053+00:00"
        );
    }

    #[test]
    fn string_ids_are_accepted() {
        let p = product_from_json(r#"{"id":"sku-9","title":"T"}"#).unwrap();
        assert_eq!(p.external_id, "sku-9");
    }

    #[test]
    fn a_bad_element_fails_alone_and_keeps_its_id() {
        let body = br#"{"products":[{"id":1,"title":"A"},{"id":2,"title":"B","price":"cheap"},{"id":3}],"total":3}"#;
        let page = decode_page(body).unwrap();
        assert_eq!(page.total, 3);
        assert!(page.products[0].is_ok());
        let bad = page.products[1].as_ref().unwrap_err();
        assert_eq!(bad.product_id.as_deref(), Some("2"));
        let untitled = page.products[2].as_ref().unwrap_err();
        assert!(
            untitled.message.contains("no title"),
            "{}",
            untitled.message
        );
    }

    #[test]
    fn page_errors_say_whether_to_retry() {
        assert!(matches!(
            decode_page(br#"{"products":[{"id":1"#),
            Err(UpstreamError::BodyCut(_))
        ));
        assert!(matches!(
            decode_page(br#"{"items":[]}"#),
            Err(UpstreamError::Shape(_))
        ));
        assert!(matches!(
            decode_page(b"<html>"),
            Err(UpstreamError::NotJson(_))
        ));
        assert!(
            decode_page(br#"{"products":[{"id":1"#)
                .unwrap_err()
                .is_retryable()
        );
        assert!(!decode_page(br#"{"items":[]}"#).unwrap_err().is_retryable());
    }

    #[test]
    fn error_bodies_yield_their_message() {
        assert_eq!(
            error_message(br#"{"message":"Product with id '9' not found"}"#).as_deref(),
            Some("Product with id '9' not found")
        );
        assert_eq!(error_message(b"oops"), None);
    }
}
