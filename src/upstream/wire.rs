//! The upstream's JSON: private serde shapes, converted to domain products at this boundary.
//! A page is split into raw elements first, so one malformed product costs that product only.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::UpstreamError;
use crate::domain::{Attributes, Price, PriceError, Product, ProductError, ProductId};

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
    id: ProductId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProduct<'a> {
    id: ProductId,
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    /// Kept as raw JSON so a number's digits never pass through `f64`.
    #[serde(borrow)]
    price: Option<&'a RawValue>,
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

impl WireProduct<'_> {
    fn into_product(self) -> Result<Product, ProductError> {
        let external_id = self.id.0;
        let price = self
            .price
            .map(|raw| exact_price(raw.get()))
            .transpose()
            .map_err(|(text, reason)| ProductError::bad_price(&external_id, &text, reason))?;
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
            category_name: None,
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

/// A price from a JSON number literal or a numeric string (surrounding spaces allowed in a
/// string), exactly; on error, the text that was refused and why.
pub(crate) fn exact_price(raw: &str) -> Result<Price, (String, PriceError)> {
    let text = if raw.starts_with('"') {
        let text: String =
            serde_json::from_str(raw).map_err(|_| (raw.to_owned(), PriceError::NotANumber))?;
        text.trim().to_owned()
    } else {
        raw.to_owned()
    };
    Price::parse(&text).map_err(|reason| (raw.to_owned(), reason))
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

/// What an event-carried product must hold: the whole product as the item endpoint serves it
/// (DummyJSON always serves these; `brand` is optional upstream). Applying a partial object
/// would wipe every field it leaves out, so a partial one is refused instead.
pub const EVENT_PRODUCT_FIELDS: [&str; 19] = [
    "title",
    "description",
    "category",
    "price",
    "discountPercentage",
    "rating",
    "stock",
    "tags",
    "sku",
    "weight",
    "dimensions",
    "warrantyInformation",
    "shippingInformation",
    "availabilityStatus",
    "returnPolicy",
    "minimumOrderQuantity",
    "meta",
    "images",
    "thumbnail",
];

/// Converts an event-carried product object, which must be complete (see
/// [`EVENT_PRODUCT_FIELDS`]) and valid like any upstream product.
pub fn event_product_from_json(raw: &str) -> Result<Product, InvalidProduct> {
    let fields: std::collections::HashMap<String, &RawValue> =
        serde_json::from_str(raw).map_err(|e| InvalidProduct {
            product_id: None,
            message: format!("not a product object: {e}"),
        })?;
    let missing: Vec<&str> = EVENT_PRODUCT_FIELDS
        .into_iter()
        .filter(|name| fields.get(*name).is_none_or(|v| v.get() == "null"))
        .collect();
    if !missing.is_empty() {
        return Err(InvalidProduct {
            product_id: id_of(raw),
            message: format!(
                "the product object is incomplete (missing {}): an event carries the whole product, or none and the worker fetches it",
                missing.join(", ")
            ),
        });
    }
    product_from_json(raw)
}

/// The id of a DummyJSON product object, read without decoding the rest of it when the id is
/// its first key (as DummyJSON writes it).
pub(crate) fn id_of(raw: &str) -> Option<String> {
    if let Some(rest) = raw.trim_start().strip_prefix("{\"id\":") {
        let rest = rest.trim_start();
        let token = rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim_end();
        if let Ok(id) = serde_json::from_str::<ProductId>(token) {
            return Some(id.0);
        }
    }
    serde_json::from_str::<WireId>(raw).ok().map(|w| w.id.0)
}

pub(crate) fn json_error(e: serde_json::Error) -> UpstreamError {
    match e.classify() {
        serde_json::error::Category::Data => UpstreamError::Shape(e.to_string()),
        serde_json::error::Category::Eof => UpstreamError::BodyCut(e.to_string()),
        _ => UpstreamError::NotJson(e.to_string()),
    }
}

/// The records of a DummyJSON listing page, undecoded, and its total.
pub(crate) fn page_records(body: &[u8]) -> Result<(Vec<&RawValue>, u64), UpstreamError> {
    let page: WirePage = serde_json::from_slice(body).map_err(json_error)?;
    Ok((page.products, page.total))
}

pub(crate) fn decode_id_page(body: &[u8]) -> Result<super::IdPage, UpstreamError> {
    super::mend::parse_tolerantly(body, |bytes, mended| {
        let page: WirePage = serde_json::from_slice(bytes).map_err(json_error)?;
        if mended.is_some_and(|m| !m.only_in(&page.products)) {
            return Err(UpstreamError::NotJson("a flaw outside the products".into()));
        }
        Ok(super::IdPage {
            total: page.total,
            ids: page
                .products
                .into_iter()
                .map(|raw| id_of(raw.get()))
                .collect(),
        })
    })
}

pub(crate) fn decode_product(
    body: &[u8],
) -> Result<Result<Product, InvalidProduct>, UpstreamError> {
    super::mend::parse_tolerantly(body, |bytes, mended| {
        let raw: &RawValue = serde_json::from_slice(bytes).map_err(json_error)?;
        Ok(match mended.and_then(|m| m.flaw_in(raw)) {
            Some(message) => Err(InvalidProduct {
                product_id: id_of(raw.get()),
                message,
            }),
            None => product_from_json(raw.get()),
        })
    })
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

    /// A DummyJSON listing answer read as the built-in source reads it.
    fn decode_page(body: &[u8]) -> Result<super::super::Page, UpstreamError> {
        super::super::records::decode_builtin_page(body)
    }

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
    fn string_ids_are_accepted_and_paths_are_not() {
        let p = product_from_json(r#"{"id":"sku-9","title":"T"}"#).unwrap();
        assert_eq!(p.external_id, "sku-9");
        for id in [r#"".""#, r#"".."#, r#""a/b""#, r#"" 7""#, r#""""#] {
            let bad = product_from_json(&format!(r#"{{"id":{id},"title":"T"}}"#)).unwrap_err();
            assert!(bad.message.contains("product id"), "{id}: {}", bad.message);
        }
    }

    #[test]
    fn prices_are_exact_from_numbers_and_numeric_strings() {
        let price = |json: &str| {
            product_from_json(&format!(r#"{{"id":1,"title":"T","price":{json}}}"#))
                .map(|p| p.price.unwrap().as_str().to_owned())
        };
        assert_eq!(
            price("123456789012345678901234567890.123456789").unwrap(),
            "123456789012345678901234567890.123456789"
        );
        assert_eq!(price(r#"" 12.50 ""#).unwrap(), "12.50");
        assert_eq!(price("1e3").unwrap(), "1000");
        for bad in [
            "-1",
            r#""-0.5""#,
            r#""12,50""#,
            "true",
            "[1]",
            r#""cheap""#,
            "1e400",
        ] {
            let error = price(bad).unwrap_err();
            assert!(
                error.message.contains("invalid price"),
                "{bad}: {}",
                error.message
            );
        }
    }

    #[test]
    fn negative_stock_and_nul_text_are_invalid_products() {
        let bad = product_from_json(r#"{"id":1,"title":"T","stock":-2}"#).unwrap_err();
        assert!(bad.message.contains("negative stock"), "{}", bad.message);
        let bad = product_from_json(r#"{"id":1,"title":"Lamp\u0000"}"#).unwrap_err();
        assert!(bad.message.contains("NUL"), "{}", bad.message);
        assert_eq!(bad.product_id.as_deref(), Some("1"));
    }

    #[test]
    fn an_event_product_must_be_whole() {
        let bad = event_product_from_json(r#"{"id":14,"title":"x"}"#).unwrap_err();
        assert!(bad.message.contains("incomplete"), "{}", bad.message);
        assert!(bad.message.contains("price") && bad.message.contains("images"));
        assert_eq!(bad.product_id.as_deref(), Some("14"));
        let mut whole: Map<String, Value> = serde_json::from_str(FIXTURE_PRODUCT).unwrap();
        for field in [
            "returnPolicy",
            "minimumOrderQuantity",
            "warrantyInformation",
            "shippingInformation",
        ] {
            whole.insert(field.into(), Value::String("x".into()));
        }
        let text = serde_json::to_string(&whole).unwrap();
        assert!(event_product_from_json(&text).is_ok());
        whole.insert("price".into(), Value::Null);
        let bad = event_product_from_json(&serde_json::to_string(&whole).unwrap()).unwrap_err();
        assert!(bad.message.contains("missing price"), "{}", bad.message);
        assert!(event_product_from_json("[1]").is_err());
    }

    #[test]
    fn a_bad_element_fails_alone_and_keeps_its_id() {
        let body = br#"{"products":[{"id":1,"title":"A"},{"id":2,"title":"B","price":"cheap"},{"id":3}],"total":3}"#;
        let page = decode_page(body).unwrap();
        assert_eq!(page.total, Some(3));
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
    fn a_bad_byte_or_a_nan_fails_its_product_alone() {
        let mut body = br#"{"products":[{"id":1,"title":"A"},{"id":2,"title":"B?"},{"id":3,"title":"C","price":NaN},{"id":4,"title":"D"}],"total":4}"#.to_vec();
        let at = body.iter().position(|b| *b == b'?').unwrap();
        body[at] = 0xc3;
        let page = decode_page(&body).unwrap();
        let ids: Vec<Option<String>> = page
            .products
            .iter()
            .map(|p| match p {
                Ok(p) => Some(p.external_id.clone()),
                Err(bad) => bad.product_id.clone(),
            })
            .collect();
        assert_eq!(
            ids,
            [Some("1"), Some("2"), Some("3"), Some("4")].map(|s| s.map(String::from))
        );
        assert!(page.products[0].is_ok() && page.products[3].is_ok());
        let utf8 = page.products[1].as_ref().unwrap_err();
        assert!(utf8.message.contains("invalid UTF-8"), "{}", utf8.message);
        let nan = page.products[2].as_ref().unwrap_err();
        assert!(nan.message.contains("NaN"), "{}", nan.message);
        // The same product alone, from the item endpoint.
        let one = decode_product(br#"{"id":3,"title":"C","price":NaN}"#).unwrap();
        assert_eq!(one.unwrap_err().product_id.as_deref(), Some("3"));
        // A flaw in the page's own fields is not a product's: the page fails.
        assert!(matches!(
            decode_page(br#"{"products":[{"id":1,"title":"A"}],"total":NaN}"#),
            Err(UpstreamError::NotJson(_))
        ));
    }

    #[test]
    fn ids_are_read_first_or_anywhere_in_the_object() {
        for (raw, id) in [
            (r#"{"id":17,"title":"A"}"#, Some("17")),
            (r#"{"id": "sku-9" ,"title":"A"}"#, Some("sku-9")),
            (r#"{"id":"a,b","title":"A"}"#, None),
            (r#"{"title":"A","id":5}"#, Some("5")),
            (r#"{"id":"a/b"}"#, None),
            (r#"{"id":3}"#, Some("3")),
        ] {
            assert_eq!(id_of(raw).as_deref(), id, "{raw}");
        }
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
