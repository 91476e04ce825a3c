//! Content hashes: a 128-bit fingerprint of everything the service stores about a product, so a
//! sync can skip rows whose content did not change without comparing columns.

use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3;

/// A 128-bit content fingerprint (XXH3). Not a security boundary: it only detects change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 16]);

impl ContentHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Feeds values into an XXH3 state in an unambiguous encoding: every item is tagged and every
/// string is length-prefixed, and JSON object keys are visited in sorted order so the upstream's
/// key order never changes a hash.
pub(crate) struct Hasher(Xxh3);

impl Hasher {
    pub(crate) fn new() -> Self {
        Hasher(Xxh3::new())
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.0.update(b"s");
        self.0.update(&(s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
        self
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => {
                self.0.update(b"n");
                self
            }
        }
    }

    pub(crate) fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => {
                self.0.update(b"i");
                self.0.update(&v.to_le_bytes());
            }
            None => self.0.update(b"n"),
        }
        self
    }

    pub(crate) fn strs(&mut self, items: &[String]) -> &mut Self {
        self.0.update(b"a");
        self.0.update(&(items.len() as u64).to_le_bytes());
        for item in items {
            self.str(item);
        }
        self
    }

    pub(crate) fn json(&mut self, value: &Value) -> &mut Self {
        match value {
            Value::Null => self.0.update(b"N"),
            Value::Bool(b) => self.0.update(if *b { b"T" } else { b"F" }),
            Value::Number(n) => {
                self.0.update(b"#");
                self.str(&n.to_string());
            }
            Value::String(s) => {
                self.str(s);
            }
            Value::Array(items) => {
                self.0.update(b"[");
                self.0.update(&(items.len() as u64).to_le_bytes());
                for item in items {
                    self.json(item);
                }
            }
            Value::Object(map) => {
                self.object(map);
            }
        }
        self
    }

    pub(crate) fn object(&mut self, map: &Map<String, Value>) -> &mut Self {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_unstable();
        self.0.update(b"{");
        self.0.update(&(keys.len() as u64).to_le_bytes());
        for key in keys {
            self.str(key);
            self.json(&map[key.as_str()]);
        }
        self
    }

    pub(crate) fn finish(&self) -> ContentHash {
        ContentHash(self.0.digest128().to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hash_of(value: &Value) -> ContentHash {
        Hasher::new().json(value).finish()
    }

    #[test]
    fn object_key_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"w":1.5,"h":2,"d":{"x":1,"y":2}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"d":{"y":2,"x":1},"h":2,"w":1.5}"#).unwrap();
        assert_eq!(hash_of(&a), hash_of(&b));
    }

    #[test]
    fn different_values_hash_differently() {
        assert_ne!(hash_of(&json!({"a": "1"})), hash_of(&json!({"a": 1})));
        assert_ne!(hash_of(&json!(["ab", "c"])), hash_of(&json!(["a", "bc"])));
        assert_ne!(hash_of(&json!(null)), hash_of(&json!("")));
    }

    #[test]
    fn string_boundaries_are_unambiguous() {
        let one = Hasher::new().str("ab").str("c").finish();
        let two = Hasher::new().str("a").str("bc").finish();
        assert_ne!(one, two);
    }

    proptest::proptest! {
        #[test]
        fn hashing_is_deterministic(keys in proptest::collection::vec("[a-z]{1,8}", 0..10)) {
            let mut forward = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                forward.insert(k.clone(), json!(i));
            }
            let mut backward = serde_json::Map::new();
            for k in keys.iter().rev() {
                backward.insert(k.clone(), forward[k.as_str()].clone());
            }
            proptest::prop_assert_eq!(hash_of(&Value::Object(forward)), hash_of(&Value::Object(backward)));
        }
    }
}
