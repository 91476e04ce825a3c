//! JSON Pointers (RFC 6901) into upstream records, with one extension: a `*` segment maps over
//! the elements of an array (`/images/*/src` is every image's `src`).

use std::fmt;

use serde_json::Value;

/// A checked pointer: `""` (the whole value) or `/`-separated segments, `~0` and `~1` escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    /// `*`: every element of an array.
    Each,
}

impl Pointer {
    /// Parses `text`, refusing what RFC 6901 refuses: a pointer that is not empty and does not
    /// start with `/`, or a `~` not followed by `0` or `1`.
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.is_empty() {
            return Ok(Pointer {
                text: String::new(),
                segments: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "{text:?} is not a JSON Pointer: it must be \"\" or start with \"/\""
            ));
        };
        let segments = rest
            .split('/')
            .map(|raw| {
                if raw == "*" {
                    return Ok(Segment::Each);
                }
                unescape(raw)
                    .map(Segment::Key)
                    .ok_or_else(|| format!("{text:?}: \"~\" must be followed by 0 or 1"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Pointer {
            text: text.to_owned(),
            segments,
        })
    }

    /// The value the pointer selects inside raw JSON, kept raw (so a number's digits are read
    /// exactly, never through `f64`); `Ok(None)` when a key is missing. Only objects and arrays
    /// on the way are parsed, one level at a time. A pointer with `*` selects nothing here.
    pub fn select_raw<'a>(
        &self,
        raw: &'a serde_json::value::RawValue,
    ) -> Result<Option<&'a serde_json::value::RawValue>, serde_json::Error> {
        use serde_json::value::RawValue;
        let mut current = raw;
        for segment in &self.segments {
            let Segment::Key(key) = segment else {
                return Ok(None);
            };
            let text = current.get().trim_start();
            let next = if text.starts_with('{') {
                let object: std::collections::HashMap<String, &'a RawValue> =
                    serde_json::from_str(current.get())?;
                object.get(key).copied()
            } else if text.starts_with('[') {
                let items: Vec<&'a RawValue> = serde_json::from_str(current.get())?;
                key.parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).copied())
            } else {
                None
            };
            match next {
                Some(value) => current = value,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The first top-level key the pointer goes through, if it has one (`/meta/updatedAt` →
    /// `meta`).
    pub fn top_key(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// Whether the pointer takes a whole top-level field: the field itself (`/title`) or every
    /// element of it (`/tags/*`).
    pub fn takes_whole_field(&self) -> bool {
        matches!(
            self.segments.as_slice(),
            [Segment::Key(_)] | [Segment::Key(_), Segment::Each]
        )
    }

    /// Whether the pointer has a `*` segment, so it may select several values.
    pub fn maps_over_arrays(&self) -> bool {
        self.segments.contains(&Segment::Each)
    }

    /// Every value the pointer selects in `value`, in order: none when a key is missing or a
    /// `*` meets something that is not an array. Array elements are also reached by index.
    pub fn select<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![value];
        for segment in &self.segments {
            current = match segment {
                Segment::Each => current
                    .into_iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .collect(),
                Segment::Key(key) => current
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Object(map) => map.get(key),
                        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                        _ => None,
                    })
                    .collect(),
            };
        }
        current
    }

    /// Whether `value` has what the pointer goes through, up to its first `*`: the field is
    /// there, even if null or an empty array (`/images/*/src` needs `images`).
    pub fn reaches(&self, value: &Value) -> bool {
        let mut current = value;
        for segment in &self.segments {
            let Segment::Key(key) = segment else {
                return true;
            };
            let next = match current {
                Value::Object(map) => map.get(key),
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(next) => current = next,
                None => return false,
            }
        }
        true
    }

    /// The one value the pointer selects, if it selects exactly one that is not null.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.select(value).into_iter().find(|v| !v.is_null())
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next()? {
                '0' => out.push('~'),
                '1' => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn select(pointer: &str, value: &Value) -> Vec<Value> {
        Pointer::parse(pointer)
            .unwrap()
            .select(value)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        let doc = json!({"a": {"b/c": 1, "d~e": 2}, "list": [10, 20], "": 3});
        assert_eq!(select("", &doc), std::slice::from_ref(&doc));
        assert_eq!(select("/a/b~1c", &doc), [json!(1)]);
        assert_eq!(select("/a/d~0e", &doc), [json!(2)]);
        assert_eq!(select("/list/1", &doc), [json!(20)]);
        assert_eq!(select("/", &doc), [json!(3)]);
        assert!(select("/missing/x", &doc).is_empty());
        assert!(select("/list/7", &doc).is_empty());
    }

    #[test]
    fn a_star_maps_over_arrays() {
        let doc =
            json!({"images": [{"src": "a"}, {"alt": "x"}, {"src": "b"}], "tags": ["t1", "t2"]});
        assert_eq!(select("/images/*/src", &doc), [json!("a"), json!("b")]);
        assert_eq!(select("/tags/*", &doc), [json!("t1"), json!("t2")]);
        assert!(select("/images/0/src/*", &doc).is_empty(), "not an array");
        assert!(Pointer::parse("/tags/*").unwrap().maps_over_arrays());
        assert!(!Pointer::parse("/tags/0").unwrap().maps_over_arrays());
    }

    #[test]
    fn first_skips_nulls() {
        let doc = json!({"a": null, "b": [null, 2]});
        let p = |s| Pointer::parse(s).unwrap();
        assert_eq!(p("/a").first(&doc), None);
        assert_eq!(p("/b/*").first(&doc), Some(&json!(2)));
    }

    #[test]
    fn raw_selection_keeps_numbers_exact() {
        let raw: Box<serde_json::value::RawValue> = serde_json::from_str(
            r#"{"variants":[{"price":123456789012345678901234567890.123456789}],"a~b":{"c/d":"x"}}"#,
        )
        .unwrap();
        let at = |p: &str| {
            Pointer::parse(p)
                .unwrap()
                .select_raw(&raw)
                .unwrap()
                .map(|v| v.get().to_owned())
        };
        assert_eq!(
            at("/variants/0/price").as_deref(),
            Some("123456789012345678901234567890.123456789")
        );
        assert_eq!(at("/a~0b/c~1d").as_deref(), Some("\"x\""));
        assert_eq!(at("/variants/1/price"), None);
        assert_eq!(at("/missing"), None);
        assert_eq!(at("/variants/*/price"), None);
        assert!(at("").unwrap().starts_with('{'));
    }

    #[test]
    fn malformed_pointers_are_refused() {
        for bad in ["id", "products/0", "/a~2", "/a~"] {
            assert!(Pointer::parse(bad).is_err(), "{bad}");
        }
    }
}
