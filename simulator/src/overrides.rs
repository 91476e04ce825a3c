//! Field overrides: raw JSON that replaces a generated field, an extra field the generator does
//! not know, or the absence of a field. Values are kept as the exact text the test gave, so a
//! price like `123456789012345678901234567890.123456789` is served byte for byte and never
//! passes through `f64`.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// One product's overridden fields, in the order they were first set (extra fields are served
/// in that order, after the generated ones).
#[derive(Clone, Debug, Default)]
pub(crate) struct Overrides {
    /// `None` omits the field from answers.
    entries: Vec<(Box<str>, Option<Box<RawValue>>)>,
}

/// What an override says about one field.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot<'a> {
    /// Serve the generated value.
    Generated,
    /// Serve this exact JSON text.
    Raw(&'a RawValue),
    /// Leave the field out.
    Omitted,
}

impl Overrides {
    /// Sets (or replaces) the override of `name`, keeping its first position.
    pub(crate) fn set(&mut self, name: &str, value: Option<Box<RawValue>>) {
        match self.entries.iter_mut().find(|(n, _)| &**n == name) {
            Some((_, slot)) => *slot = value,
            None => self.entries.push((Box::from(name), value)),
        }
    }

    /// What to serve for `name`.
    pub(crate) fn slot(&self, name: &str) -> Slot<'_> {
        match self.entries.iter().find(|(n, _)| &**n == name) {
            None => Slot::Generated,
            Some((_, Some(raw))) => Slot::Raw(raw),
            Some((_, None)) => Slot::Omitted,
        }
    }

    /// The overridden fields that are not in `known` and carry a value: the extra fields.
    pub(crate) fn extras<'a>(
        &'a self,
        known: &'a [&str],
    ) -> impl Iterator<Item = (&'a str, &'a RawValue)> + 'a {
        self.entries.iter().filter_map(move |(name, value)| {
            let raw = value.as_deref()?;
            (!known.contains(&&**name)).then_some((&**name, raw))
        })
    }
}

// RawValue has no PartialEq: two overrides are equal when they serve the same text.
impl PartialEq for Overrides {
    fn eq(&self, other: &Overrides) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((a, x), (b, y))| {
                    a == b && x.as_deref().map(RawValue::get) == y.as_deref().map(RawValue::get)
                })
    }
}

impl Eq for Overrides {}

/// Validates `raw` as one JSON value and keeps its text (surrounding whitespace dropped).
pub(crate) fn parse_raw(raw: &str) -> Result<Box<RawValue>, String> {
    serde_json::from_str::<Box<RawValue>>(raw).map_err(|e| format!("not valid JSON: {e}"))
}

/// A JSON string value holding `text`, for overrides given as plain text (titles).
pub(crate) fn raw_string(text: &str) -> Box<RawValue> {
    // Serializing a `&str` cannot fail; the fallback only keeps this function total.
    serde_json::value::to_raw_value(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// The body of `POST /__sim/products/{id}/fields`: a JSON object whose values stay raw text,
/// in body order. A JSON `null` means "omit this field".
#[derive(Debug, Default)]
pub(crate) struct FieldsBody(pub Vec<(String, Option<Box<RawValue>>)>);

impl<'de> Deserialize<'de> for FieldsBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldsBody, D::Error> {
        struct Fields;

        impl<'de> Visitor<'de> for Fields {
            type Value = FieldsBody;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of field names to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldsBody, A::Error> {
                let mut fields = Vec::new();
                while let Some((name, raw)) = map.next_entry::<String, Box<RawValue>>()? {
                    let value = (raw.get() != "null").then_some(raw);
                    fields.push((name, value));
                }
                Ok(FieldsBody(fields))
            }
        }

        // A map visitor keeps the body's order, which a HashMap would lose.
        deserializer.deserialize_map(Fields)
    }
}

/// A JSON object as ordered `(name, raw value)` pairs: the exact text of every value, in the
/// order written (a products file's products, and the DummyJSON product the other shapes are
/// mapped from). Unlike [`FieldsBody`], a `null` is kept as a value.
#[derive(Debug, Default)]
pub(crate) struct RawObject(pub Vec<(Box<str>, Box<RawValue>)>);

impl RawObject {
    /// The raw value of `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, raw)| &**raw)
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawObject, D::Error> {
        struct Entries;

        impl<'de> Visitor<'de> for Entries {
            type Value = RawObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut entries = Vec::new();
                while let Some((name, raw)) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push((name.into_boxed_str(), raw));
                }
                Ok(RawObject(entries))
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

impl serde::Serialize for RawObject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, raw) in &self.0 {
            map.serialize_entry(&**name, &**raw)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_is_kept_exactly() {
        let big = "123456789012345678901234567890.123456789";
        assert_eq!(parse_raw(big).expect("valid").get(), big);
        assert_eq!(parse_raw(" -3 ").expect("valid").get(), "-3");
        assert_eq!(
            parse_raw(r#""a\u0000b""#).expect("valid").get(),
            r#""a\u0000b""#
        );
        for bad in ["", "12.", "{", "1 2", "'x'", "NaN"] {
            assert!(parse_raw(bad).is_err(), "{bad:?} is refused");
        }
        assert_eq!(raw_string("say \"hi\"\0").get(), r#""say \"hi\"\u0000""#);
    }

    #[test]
    fn slots_follow_the_latest_setting_and_extras_keep_their_order() {
        let mut overrides = Overrides::default();
        overrides.set("zeta", Some(parse_raw("1").expect("valid")));
        overrides.set("price", Some(parse_raw("\"12.50\"").expect("valid")));
        overrides.set("alpha", Some(parse_raw("[]").expect("valid")));
        overrides.set("stock", None);
        assert!(matches!(overrides.slot("price"), Slot::Raw(r) if r.get() == "\"12.50\""));
        assert!(matches!(overrides.slot("stock"), Slot::Omitted));
        assert!(matches!(overrides.slot("title"), Slot::Generated));
        overrides.set("price", None);
        assert!(matches!(overrides.slot("price"), Slot::Omitted));
        let extras: Vec<(&str, &str)> = overrides
            .extras(&["price", "stock"])
            .map(|(n, r)| (n, r.get()))
            .collect();
        assert_eq!(extras, [("zeta", "1"), ("alpha", "[]")]);
        assert_eq!(overrides, overrides.clone());
    }

    #[test]
    fn fields_bodies_keep_order_raw_text_and_nulls() {
        let body = r#"{"price": 1.10, "title": null, "extra": {"a": [1, 2]}}"#;
        let FieldsBody(fields) = serde_json::from_str(body).expect("valid body");
        let shown: Vec<(&str, Option<&str>)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_deref().map(RawValue::get)))
            .collect();
        assert_eq!(
            shown,
            [
                ("price", Some("1.10")),
                ("title", None),
                ("extra", Some(r#"{"a": [1, 2]}"#))
            ]
        );
        for bad in ["[]", "1", "{\"a\":}", ""] {
            assert!(serde_json::from_str::<FieldsBody>(bad).is_err(), "{bad:?}");
        }
    }
}
