//! What every answer of the upstream shares: the error of a record that is not a product, exact
//! prices from raw JSON, how a JSON error is classed, and the `message` of an error body.

use serde::Deserialize;

use super::UpstreamError;
use crate::domain::{Price, PriceError};
use crate::source::Text;

/// An element of the upstream's answer that is not a valid product.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidProduct {
    /// The element's id, when it has a readable one.
    pub product_id: Option<String>,
    pub message: String,
}

#[derive(Deserialize)]
struct WireMessage {
    message: String,
}

/// A price from a JSON number literal or a numeric string (surrounding spaces allowed in a
/// string), exactly; on error, the text that was refused and why.
pub(crate) fn exact_price(raw: &str) -> Result<Price, (String, PriceError)> {
    let price = if raw.starts_with('"') {
        let Ok(Text(text)) = serde_json::from_str::<Text>(raw) else {
            return Err((raw.to_owned(), PriceError::NotANumber));
        };
        Price::parse(text.trim())
    } else {
        Price::parse(raw)
    };
    price.map_err(|reason| (raw.to_owned(), reason))
}

pub(crate) fn json_error(e: serde_json::Error) -> UpstreamError {
    match e.classify() {
        serde_json::error::Category::Data => UpstreamError::Shape(e.to_string()),
        serde_json::error::Category::Eof => UpstreamError::BodyCut(e.to_string()),
        _ => UpstreamError::NotJson(e.to_string()),
    }
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

    #[test]
    fn error_bodies_yield_their_message() {
        assert_eq!(
            error_message(br#"{"message":"Product with id '9' not found"}"#).as_deref(),
            Some("Product with id '9' not found")
        );
        assert_eq!(error_message(b"oops"), None);
    }
}
