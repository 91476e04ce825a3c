//! Upstream product ids are data, never paths: a short run of URL-safe characters that can name a
//! row and fill exactly one path segment of the item URL, whatever an event or a listing sends.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// Longest upstream product id accepted.
pub const MAX_ID_CHARS: usize = 128;

/// Why a text is not a product id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("product id is empty")]
    Empty,
    #[error("product id is longer than {MAX_ID_CHARS} characters")]
    TooLong,
    #[error("product id {0:?} is a path segment (\".\" or \"..\"), not an id")]
    DotSegment(String),
    #[error(
        "product id {id:?} contains {bad:?}: ids are letters, digits and - . _ ~ : @ (RFC 3986 unreserved characters, ':' and '@')"
    )]
    BadCharacter { id: String, bad: char },
}

/// Checks that `id` is 1 to 128 characters among RFC 3986's unreserved ones (ASCII letters,
/// digits, `-` `.` `_` `~`) and `:` `@`, and is not `.` or `..`. Such an id needs no escaping
/// in a path segment, and cannot climb to the listing URL or anywhere else.
pub fn check_product_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(IdError::TooLong);
    }
    if let Some(bad) = id.chars().find(|c| !is_id_char(*c)) {
        return Err(IdError::BadCharacter {
            id: id.chars().take(MAX_ID_CHARS).collect(),
            bad,
        });
    }
    if id == "." || id == ".." {
        return Err(IdError::DotSegment(id.to_owned()));
    }
    Ok(())
}

/// Whether `c` may stand in an id: an RFC 3986 unreserved character (ASCII letters, digits,
/// `-` `.` `_` `~`), `:` or `@`. Product ids and request ids share the alphabet.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '@')
}

/// A product id as the upstream and events send it: an integer or a string, kept as text, and
/// checked by [`check_product_id`] while it is deserialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductId(pub String);

/// Written as a string, whatever it was read from.
impl Serialize for ProductId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProductId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = ProductId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a product id (string or integer)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ProductId, E> {
                Ok(ProductId(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ProductId, E> {
                Ok(ProductId(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProductId, E> {
                check_product_id(v).map_err(E::custom)?;
                Ok(ProductId(v.to_owned()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_ids_pass() {
        for id in [
            "1",
            "17",
            "sku-9",
            "A.b_c~d",
            "urn:shop:42",
            "x@eu",
            "-5",
            "...",
        ] {
            assert_eq!(check_product_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn paths_and_strangers_are_refused() {
        assert_eq!(check_product_id(""), Err(IdError::Empty));
        assert!(matches!(check_product_id("."), Err(IdError::DotSegment(_))));
        assert!(matches!(
            check_product_id(".."),
            Err(IdError::DotSegment(_))
        ));
        for id in [
            "a/b", "../x", "a b", " 7", "7?x=1", "a#b", "%2e%2e", "é", "a\u{0}",
        ] {
            assert!(
                matches!(check_product_id(id), Err(IdError::BadCharacter { .. })),
                "{id:?}"
            );
        }
        assert_eq!(check_product_id(&"x".repeat(129)), Err(IdError::TooLong));
        assert_eq!(check_product_id(&"x".repeat(128)), Ok(()));
    }

    proptest! {
        #[test]
        fn an_accepted_id_is_one_unescaped_path_segment(id in "[a-zA-Z0-9._~:@/ %?#-]{1,20}") {
            if check_product_id(&id).is_ok() {
                let mut url = reqwest::Url::parse("http://h/products").unwrap();
                url.path_segments_mut().unwrap().push(&id);
                prop_assert_eq!(url.path(), format!("/products/{id}"));
                prop_assert!(id != "." && id != "..");
            }
        }
    }
}
