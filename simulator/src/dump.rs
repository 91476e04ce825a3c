//! A real catalog from a file: a DummyJSON dump (`{"products":[...]}` or a bare array of
//! product objects) read at start. Products are kept as the exact text of their fields, in
//! file order, so an unchanged product is served as stored; a change (version) moves its
//! price, stock and `meta.updatedAt` on, as it does for a generated product.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

use super::catalog::{BASE_MS, FieldSet, ProductSpec, number_text};
use super::clock::parse_rfc3339;
use super::overrides::{RawObject, Slot};
use super::parts::Timestamp;

/// The highest id a products file may use: gaps below it are kept as a list of ids.
const MAX_FILE_ID: u64 = 10_000_000;

/// The products of a file, by id.
#[derive(Debug)]
pub(crate) struct Dump {
    products: HashMap<u64, DumpProduct>,
    /// The latest `meta.updatedAt` in the file (0 if none).
    latest_ms: u64,
}

/// One product of the file.
#[derive(Debug)]
pub(crate) struct DumpProduct {
    fields: RawObject,
    /// `meta.createdAt`, or 2025-01-01 if the file has no readable one.
    created_ms: u64,
    /// `meta.updatedAt`, or the creation time if the file has no readable one.
    updated_ms: u64,
}

#[derive(Deserialize)]
struct Wrapped {
    products: Vec<RawObject>,
}

impl Dump {
    /// Reads `path`; the error says what is wrong (the caller names the file).
    pub(crate) fn load(path: &Path) -> Result<Dump, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        Dump::parse(&text)
    }

    /// Reads a dump's text: `{"products":[...]}` or `[...]`, each product with a unique
    /// positive integer `id`.
    pub(crate) fn parse(text: &str) -> Result<Dump, String> {
        let text = minify(text);
        let objects = if text.starts_with('[') {
            serde_json::from_str::<Vec<RawObject>>(&text)
        } else {
            serde_json::from_str::<Wrapped>(&text).map(|w| w.products)
        }
        .map_err(|e| {
            format!("not a DummyJSON product dump ({{\"products\":[...]}} or [...]): {e}")
        })?;
        let mut products = HashMap::with_capacity(objects.len());
        let mut latest_ms = 0;
        for (index, fields) in objects.into_iter().enumerate() {
            let id = fields
                .get("id")
                .and_then(|raw| raw.get().parse::<u64>().ok())
                .filter(|id| (1..=MAX_FILE_ID).contains(id))
                .ok_or_else(|| {
                    format!("product #{index} has no integer id between 1 and {MAX_FILE_ID}")
                })?;
            let meta = fields
                .get("meta")
                .and_then(|raw| serde_json::from_str::<RawObject>(raw.get()).ok());
            let time = |name: &str| {
                let raw = meta.as_ref()?.get(name)?;
                parse_rfc3339(&serde_json::from_str::<String>(raw.get()).ok()?)
            };
            // A product without dates reads as created and last updated at the generated
            // catalog's epoch, before anything a test changes.
            let created_ms = time("createdAt").unwrap_or(BASE_MS);
            let product = DumpProduct {
                created_ms,
                updated_ms: time("updatedAt").unwrap_or(created_ms),
                fields,
            };
            latest_ms = latest_ms.max(product.updated_ms);
            if products.insert(id, product).is_some() {
                return Err(format!("id {id} appears twice"));
            }
        }
        Ok(Dump {
            products,
            latest_ms,
        })
    }

    /// The ids in the file, in no particular order.
    pub(crate) fn ids(&self) -> Vec<u64> {
        self.products.keys().copied().collect()
    }

    pub(crate) fn get(&self, id: u64) -> Option<&DumpProduct> {
        self.products.get(&id)
    }

    /// The latest `meta.updatedAt` in the file.
    pub(crate) fn latest_ms(&self) -> u64 {
        self.latest_ms
    }
}

impl DumpProduct {
    /// The file's raw value of a field.
    pub(crate) fn field(&self, name: &str) -> Option<&RawValue> {
        self.fields.get(name)
    }

    /// Whether the file gives the product a field of that name.
    pub(crate) fn has_field(&self, name: &str) -> bool {
        self.fields.get(name).is_some()
    }

    /// When the product was created (2025-01-01 if the file does not say).
    pub(crate) fn created_ms(&self) -> u64 {
        self.created_ms
    }

    /// The version time: the file's `updatedAt`, moved on by each change like a generated
    /// product's (a second per version, and at least the wall-clock time of the change).
    pub(crate) fn updated_ms(&self, spec: &ProductSpec) -> u64 {
        let versioned = self.updated_ms + u64::from(spec.version) * 1000;
        versioned.max(spec.stamp.unwrap_or(0))
    }

    /// Writes the product as the DummyJSON routes serve it.
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        spec: &ProductSpec,
        fields: FieldSet<'_>,
    ) -> serde_json::Result<()> {
        let view = DumpView {
            product: self,
            spec,
            fields,
        };
        serde_json::to_writer(out, &view)
    }

    /// A field's value at the spec's version: changes move price, stock and `meta.updatedAt`.
    fn versioned<'a>(
        &self,
        name: &str,
        raw: &'a RawValue,
        spec: &ProductSpec,
    ) -> Cow<'a, RawValue> {
        let version = spec.version;
        if version == 0 {
            return Cow::Borrowed(raw);
        }
        let changed = match name {
            "stock" => raw
                .get()
                .parse::<u64>()
                .ok()
                .map(|stock| (stock + u64::from(version)).to_string()),
            "price" => bump_price(raw.get(), version),
            "meta" => serde_json::from_str::<RawObject>(raw.get())
                .ok()
                .and_then(|mut meta| {
                    let stamp = Timestamp(self.updated_ms(spec)).to_string();
                    let value = serde_json::value::to_raw_value(&stamp).ok()?;
                    match meta.0.iter_mut().find(|(n, _)| &**n == "updatedAt") {
                        Some((_, slot)) => *slot = value,
                        None => meta.0.push((Box::from("updatedAt"), value)),
                    }
                    serde_json::to_string(&meta).ok()
                }),
            _ => None,
        };
        match changed.and_then(|text| RawValue::from_string(text).ok()) {
            Some(value) => Cow::Owned(value),
            None => Cow::Borrowed(raw),
        }
    }
}

/// `price` moved on by a cent per version, keeping at least two decimals (`9.99` → `10.00`);
/// `None` for anything but plain decimal text, which then stays as it is.
fn bump_price(text: &str, version: u32) -> Option<String> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 12 || int.len() > 20 {
        return None;
    }
    let places = frac.len().max(2);
    let scaled: u128 = format!("{int}{frac:0<places$}").parse().ok()?;
    let cent = 10_u128.pow(u32::try_from(places - 2).ok()?);
    let bumped = (scaled + cent * u128::from(version)).to_string();
    let bumped = format!("{bumped:0>width$}", width = places + 1);
    let (whole, fraction) = bumped.split_at(bumped.len() - places);
    Some(format!("{whole}.{fraction}"))
}

/// A products-file product with its spec and the selected fields.
struct DumpView<'a> {
    product: &'a DumpProduct,
    spec: &'a ProductSpec,
    fields: FieldSet<'a>,
}

impl Serialize for DumpView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let overrides = self.spec.overrides.as_deref();
        let mut map = serializer.serialize_map(None)?;
        for (name, raw) in &self.product.fields.0 {
            if !self.fields.selects(name) {
                continue;
            }
            let value = match overrides.map_or(Slot::Generated, |o| o.slot(name)) {
                Slot::Raw(raw) => Cow::Borrowed(raw),
                Slot::Omitted => continue,
                Slot::Generated => self.product.versioned(name, raw, self.spec),
            };
            match number_text(&value).filter(|_| &**name == "price" && self.fields.string_prices())
            {
                Some(text) => map.serialize_entry(&**name, text)?,
                None => map.serialize_entry(&**name, &*value)?,
            }
        }
        if let Some(overrides) = overrides {
            let known: Vec<&str> = self.product.fields.0.iter().map(|(n, _)| &**n).collect();
            for (name, raw) in overrides.extras(&known) {
                if self.fields.selects(name) {
                    map.serialize_entry(name, raw)?;
                }
            }
        }
        map.end()
    }
}

/// `text` without the whitespace between JSON tokens (strings kept as they are), so a
/// pretty-printed dump is served compact like DummyJSON's answers.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_move_on_by_a_cent_and_keep_their_decimals() {
        assert_eq!(bump_price("9.99", 1).as_deref(), Some("10.00"));
        assert_eq!(bump_price("12.5", 1).as_deref(), Some("12.51"));
        assert_eq!(bump_price("10", 3).as_deref(), Some("10.03"));
        assert_eq!(bump_price("0.001", 1).as_deref(), Some("0.011"));
        assert_eq!(bump_price("0.05", 1).as_deref(), Some("0.06"));
        for odd in ["-1", "1e3", "\"9.99\"", "", ".5"] {
            assert_eq!(bump_price(odd, 1), None, "{odd}");
        }
    }

    #[test]
    fn minify_keeps_strings_intact() {
        let text = "{ \"a b\" : [ 1 ,\n 2 ], \"c\": \"x \\\" y\" }";
        assert_eq!(minify(text), r#"{"a b":[1,2],"c":"x \" y"}"#);
    }

    #[test]
    fn bad_dumps_say_what_is_wrong() {
        for (text, expected) in [
            ("nope", "not a DummyJSON product dump"),
            (r#"{"items": []}"#, "not a DummyJSON product dump"),
            (r#"[{"title": "x"}]"#, "product #0 has no integer id"),
            (r#"[{"id": "1"}]"#, "product #0 has no integer id"),
            (r#"[{"id": 0}]"#, "product #0 has no integer id"),
            (r#"[{"id": 2}, {"id": 2}]"#, "id 2 appears twice"),
        ] {
            let error = Dump::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
        let dump = Dump::parse(r#"{"products": [{"id": 3}], "total": 1}"#).expect("valid");
        assert_eq!(dump.ids(), [3]);
    }
}
