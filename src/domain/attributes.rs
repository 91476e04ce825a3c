//! A product's other upstream fields (dimensions, rating, meta, ...) as canonical JSON text.

use std::borrow::Cow;
use std::io::Write;

use serde_json::{Map, Value};

/// A JSON object kept as canonical text: keys sorted at every level, no spaces. Equal content
/// always has equal text, whatever order the upstream wrote its keys in, so the text can be
/// hashed as is; and one string per product costs far less memory than a tree of values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    /// Borrowed only for the empty object, which most variants have.
    text: Cow<'static, str>,
    /// Whether a key or a string holds U+0000, which PostgreSQL's `jsonb` refuses.
    nul: bool,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            text: Cow::Borrowed("{}"),
            nul: false,
        }
    }
}

impl Attributes {
    pub fn from_map(map: &Map<String, Value>) -> Self {
        if map.is_empty() {
            return Self::default();
        }
        let mut out = Writer {
            text: Vec::with_capacity(256),
            nul: false,
        };
        out.object(map);
        Attributes {
            // Only whole UTF-8 strings and ASCII were written.
            text: Cow::Owned(String::from_utf8(out.text).unwrap_or_else(|_| "{}".to_owned())),
            nul: out.nul,
        }
    }

    /// Attributes as the database gives them back (`jsonb` as text), made canonical again.
    pub fn from_stored(text: &str) -> Result<Self, serde_json::Error> {
        let map: Map<String, Value> = serde_json::from_str(text)?;
        Ok(Self::from_map(&map))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether any key or string contains a NUL character.
    pub fn contains_nul(&self) -> bool {
        self.nul
    }

    /// One top-level field, parsed back (for tests and diagnostics, not the hot path).
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut map: Map<String, Value> = serde_json::from_str(&self.text).ok()?;
        map.remove(key)
    }
}

/// Writes canonical JSON text, noting NUL characters on the way.
struct Writer {
    text: Vec<u8>,
    nul: bool,
}

impl Writer {
    fn object(&mut self, map: &Map<String, Value>) {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_unstable();
        self.text.push(b'{');
        for (i, key) in keys.into_iter().enumerate() {
            if i > 0 {
                self.text.push(b',');
            }
            self.string(key);
            self.text.push(b':');
            self.value(&map[key.as_str()]);
        }
        self.text.push(b'}');
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Object(map) => self.object(map),
            Value::Array(items) => {
                self.text.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push(b',');
                    }
                    self.value(item);
                }
                self.text.push(b']');
            }
            Value::String(s) => self.string(s),
            Value::Number(n) => {
                // Writing to a Vec cannot fail.
                let _ = write!(self.text, "{n}");
            }
            Value::Bool(b) => self
                .text
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Null => self.text.extend_from_slice(b"null"),
        }
    }

    fn string(&mut self, s: &str) {
        self.nul |= s.contains('\0');
        // Serializing a string into a Vec cannot fail; the fallback keeps the text valid JSON
        // regardless.
        let start = self.text.len();
        if serde_json::to_writer(&mut self.text, s).is_err() {
            self.text.truncate(start);
            self.text.extend_from_slice(b"\"\"");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn attrs(json: &str) -> Attributes {
        Attributes::from_map(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn key_order_does_not_change_the_text() {
        let a = attrs(r#"{"w":1.5,"h":2,"d":{"x":1,"y":"é\"q"}}"#);
        let b = attrs(r#"{"d":{"y":"é\"q","x":1},"h":2,"w":1.5}"#);
        assert_eq!(a, b);
        assert_eq!(a.as_str(), r#"{"d":{"x":1,"y":"é\"q"},"h":2,"w":1.5}"#);
    }

    #[test]
    fn nul_characters_anywhere_are_noticed() {
        assert!(!attrs(r#"{"a":{"b":["x"]}}"#).contains_nul());
        assert!(attrs(r#"{"a":{"b":["x\u0000"]}}"#).contains_nul());
        assert!(attrs(r#"{"k\u0000":1}"#).contains_nul());
        assert!(
            !attrs(r#"{"a":"\\u0000"}"#).contains_nul(),
            "an escaped backslash is not a NUL"
        );
    }

    #[test]
    fn fields_can_be_read_back() {
        let a = attrs(r#"{"dimensions":{"depth":22.99},"tags":[1,null,true]}"#);
        assert_eq!(a.get("dimensions").unwrap()["depth"], 22.99);
        assert_eq!(a.get("missing"), None);
        assert_eq!(Attributes::default().as_str(), "{}");
    }

    proptest! {
        #[test]
        fn canonical_text_is_valid_json_of_the_same_content(
            entries in proptest::collection::btree_map("[a-zA-Z\"\\\\ ]{0,6}", "[ -~]{0,8}", 0..8)
        ) {
            let map: Map<String, Value> =
                entries.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            let text = Attributes::from_map(&map);
            let parsed: Map<String, Value> = serde_json::from_str(text.as_str()).unwrap();
            prop_assert_eq!(parsed, map);
        }
    }
}
