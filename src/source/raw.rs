//! Records read borrowed: an object split into its members without decoding them, and strings
//! borrowed from the text unless they hold escapes.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON object split into its members: one pass over the text, nothing decoded, the keys
/// borrowed unless they hold escapes.
#[derive(Debug, Default)]
pub struct RawRecord<'a> {
    text: &'a [u8],
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> RawRecord<'a> {
    /// Splits `raw`, which must be a JSON object.
    pub fn parse(raw: &'a RawValue) -> Result<RawRecord<'a>, serde_json::Error> {
        RawRecord::split(raw.get())
    }

    /// Splits `text`, which must be one JSON object (the split checks it is).
    pub fn split(text: &'a str) -> Result<RawRecord<'a>, serde_json::Error> {
        let mut record = RawRecord::default();
        record.fill(text.as_bytes(), serde_json::Deserializer::from_str(text))?;
        Ok(record)
    }

    /// Splits `bytes`, which must be one JSON object in UTF-8 (the split checks both).
    pub fn split_slice(bytes: &'a [u8]) -> Result<RawRecord<'a>, serde_json::Error> {
        let mut record = RawRecord::default();
        record.fill(bytes, serde_json::Deserializer::from_slice(bytes))?;
        Ok(record)
    }

    /// Splits `raw`, which must be a JSON object, into this record in place of what it held,
    /// reusing its room: the variants of a product are read one after another.
    pub fn resplit(&mut self, raw: &'a RawValue) -> Result<(), serde_json::Error> {
        let text = raw.get();
        self.fill(text.as_bytes(), serde_json::Deserializer::from_str(text))
    }

    fn fill<R: serde_json::de::Read<'a>>(
        &mut self,
        text: &'a [u8],
        mut deserializer: serde_json::Deserializer<R>,
    ) -> Result<(), serde_json::Error> {
        self.text = text;
        self.members.clear();
        if self.members.capacity() == 0 {
            self.members.reserve(24);
        }
        MembersInto(&mut self.members).deserialize(&mut deserializer)?;
        deserializer.end()
    }

    /// The record as it came.
    pub fn raw(&self) -> Result<&'a RawValue, serde_json::Error> {
        serde_json::from_slice(self.text)
    }

    /// The member `key` (the last one, should the object repeat a key, as JSON parsers do).
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }

    /// Every member in order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &'a RawValue)> {
        self.members.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

/// Reads the members of an object into a list, for [`RawRecord`].
struct MembersInto<'v, 'a>(&'v mut Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> DeserializeSeed<'de> for MembersInto<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MembersInto<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((Text(key), value)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
            self.0.push((key, value));
        }
        Ok(())
    }
}

/// A JSON string, borrowed from the text unless it holds escapes.
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn records_keep_escaped_keys_and_the_last_of_a_repeated_key() {
        let r = raw(r#"{"t\u0069tle": "A", "x": 1, "x": 2}"#);
        let record = RawRecord::parse(&r).unwrap();
        assert_eq!(record.get("title").unwrap().get(), r#""A""#);
        assert_eq!(record.get("x").unwrap().get(), "2");
        assert_eq!(record.members().count(), 3);
        assert!(RawRecord::parse(&raw("[1]")).is_err());
    }
}
