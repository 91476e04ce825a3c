//! JSON Pointers (RFC 6901) into upstream records, with two extensions: a `*` segment maps over
//! the elements of an array (`/images/*/src` is every image's `src`), and a `[key=value]`
//! segment picks the elements of an array whose `key` holds `value`
//! (`/attributes/[name=Brand]/options/0` is the first option of the attribute named Brand).
//!
//! Records are read borrowed ([`RawRecord`]): a pointer parses only the objects and arrays on
//! its way.

use std::fmt;

use serde_json::value::RawValue;

use super::raw::{RawRecord, Text};

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
    /// `[key=value]`: the elements of an array that are objects whose `key` is `value` (a
    /// string equal to it, or a number or boolean written as it).
    Match {
        key: String,
        value: String,
    },
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
        let bad_tilde = || format!("{text:?}: \"~\" must be followed by 0 or 1");
        let segments = rest
            .split('/')
            .map(|raw| {
                if raw == "*" {
                    return Ok(Segment::Each);
                }
                if let Some((key, value)) = raw
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|r| r.split_once('='))
                {
                    return Ok(Segment::Match {
                        key: unescape(key).ok_or_else(bad_tilde)?,
                        value: unescape(value).ok_or_else(bad_tilde)?,
                    });
                }
                unescape(raw).map(Segment::Key).ok_or_else(bad_tilde)
            })
            .collect::<Result<_, _>>()?;
        Ok(Pointer {
            text: text.to_owned(),
            segments,
        })
    }

    /// The first value the pointer selects inside raw JSON, kept raw (so a number's digits are
    /// read exactly, never through `f64`); `Ok(None)` when nothing is there.
    pub fn select_raw<'a>(
        &self,
        raw: &'a RawValue,
    ) -> Result<Option<&'a RawValue>, serde_json::Error> {
        let mut out = Vec::new();
        walk(&self.segments, raw, &mut out)?;
        Ok(out.first().copied())
    }

    /// Every value the pointer selects in `record`, in order, raw (nulls included).
    pub fn select_in<'a>(
        &self,
        record: &RawRecord<'a>,
        out: &mut Vec<&'a RawValue>,
    ) -> Result<(), serde_json::Error> {
        match self.segments.split_first() {
            None => {
                out.push(record.raw()?);
                Ok(())
            }
            Some((Segment::Key(key), rest)) => match record.get(key) {
                Some(value) => walk(rest, value, out),
                None => Ok(()),
            },
            Some(_) => Ok(()),
        }
    }

    /// The first value the pointer selects in `record` that is not null.
    pub fn first_in<'a>(
        &self,
        record: &RawRecord<'a>,
    ) -> Result<Option<&'a RawValue>, serde_json::Error> {
        if let [Segment::Key(key)] = self.segments.as_slice() {
            return Ok(record.get(key).filter(|v| v.get() != "null"));
        }
        let mut out = Vec::new();
        self.select_in(record, &mut out)?;
        Ok(out.into_iter().find(|v| v.get() != "null"))
    }

    /// Whether `record` has what the pointer goes through, up to its first `*` or `[key=value]`:
    /// the field is there, even if null or an empty array (`/images/*/src` and `/images/0/src`
    /// need `images`).
    pub fn reaches_in(&self, record: &RawRecord<'_>) -> bool {
        // The value reached so far; none while still at the record itself (an object).
        let mut current: Option<&RawValue> = None;
        for segment in &self.segments {
            let Segment::Key(key) = segment else {
                return true;
            };
            let next = match current {
                None => record.get(key),
                Some(value) => child(value, key).ok().flatten(),
            };
            match next {
                Some(next) => current = Some(next),
                // An array shorter than the index is a value too (`brands: []`).
                None => {
                    return current.is_some_and(|c| c.get().starts_with('['))
                        && key.parse::<usize>().is_ok();
                }
            }
        }
        true
    }

    /// The first top-level key the pointer goes through, if it has one (`/meta/updatedAt` →
    /// `meta`).
    pub fn top_key(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// The key when the pointer is one top-level field (`/id`).
    pub fn single_key(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Key(key)] => Some(key),
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

    /// Whether the pointer has a `*` segment, so it may select several values. (A
    /// `[key=value]` segment names one element; should several match, the first is taken.)
    pub fn maps_over_arrays(&self) -> bool {
        self.segments.contains(&Segment::Each)
    }
}

/// Follows `segments` from `value`, pushing every value reached.
fn walk<'a>(
    segments: &[Segment],
    value: &'a RawValue,
    out: &mut Vec<&'a RawValue>,
) -> Result<(), serde_json::Error> {
    let Some((segment, rest)) = segments.split_first() else {
        out.push(value);
        return Ok(());
    };
    match segment {
        Segment::Key(key) => {
            if let Some(next) = child(value, key)? {
                walk(rest, next, out)?;
            }
        }
        Segment::Each => {
            if value.get().starts_with('[') {
                for element in serde_json::from_str::<Vec<&'a RawValue>>(value.get())? {
                    walk(rest, element, out)?;
                }
            }
        }
        Segment::Match { key, value: wanted } => {
            if value.get().starts_with('[') {
                for element in serde_json::from_str::<Vec<&'a RawValue>>(value.get())? {
                    let held = child(element, key)?;
                    if held.is_some_and(|held| holds(held, wanted)) {
                        walk(rest, element, out)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The member `key` of an object, or the element at index `key` of an array.
fn child<'a>(value: &'a RawValue, key: &str) -> Result<Option<&'a RawValue>, serde_json::Error> {
    let text = value.get();
    if text.starts_with('{') {
        Ok(RawRecord::parse(value)?.get(key))
    } else if text.starts_with('[') {
        let Ok(index) = key.parse::<usize>() else {
            return Ok(None);
        };
        let items: Vec<&'a RawValue> = serde_json::from_str(text)?;
        Ok(items.get(index).copied())
    } else {
        Ok(None)
    }
}

/// Whether raw scalar `held` is `wanted`: a string equal to it, or a number or boolean
/// written as it.
fn holds(held: &RawValue, wanted: &str) -> bool {
    let text = held.get();
    if text.starts_with('"') {
        serde_json::from_str::<Text>(text).is_ok_and(|t| t.0 == wanted)
    } else {
        text == wanted
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
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        serde_json::from_str(json).unwrap()
    }

    /// Every value `pointer` selects in the object `json`, as text.
    fn select(pointer: &str, json: &str) -> Vec<String> {
        let raw = raw(json);
        let record = RawRecord::parse(&raw).unwrap();
        let mut out = Vec::new();
        Pointer::parse(pointer)
            .unwrap()
            .select_in(&record, &mut out)
            .unwrap();
        out.into_iter().map(|v| v.get().to_owned()).collect()
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        let doc = r#"{"a": {"b/c": 1, "d~e": 2}, "list": [10, 20], "": 3}"#;
        assert_eq!(select("", doc), [doc]);
        assert_eq!(select("/a/b~1c", doc), ["1"]);
        assert_eq!(select("/a/d~0e", doc), ["2"]);
        assert_eq!(select("/list/1", doc), ["20"]);
        assert_eq!(select("/", doc), ["3"]);
        assert!(select("/missing/x", doc).is_empty());
        assert!(select("/list/7", doc).is_empty());
    }

    #[test]
    fn a_star_maps_over_arrays() {
        let doc = r#"{"images": [{"src": "a"}, {"alt": "x"}, {"src": "b"}], "tags": ["t1", "t2"]}"#;
        assert_eq!(select("/images/*/src", doc), [r#""a""#, r#""b""#]);
        assert_eq!(select("/tags/*", doc), [r#""t1""#, r#""t2""#]);
        assert!(select("/images/0/src/*", doc).is_empty(), "not an array");
        assert!(Pointer::parse("/tags/*").unwrap().maps_over_arrays());
        assert!(!Pointer::parse("/tags/0").unwrap().maps_over_arrays());
    }

    #[test]
    fn an_element_is_picked_by_a_siblings_value() {
        let doc = r#"{"attributes": [
            {"name": "Color", "options": ["Red", "Blue"]},
            {"name": "Brand", "options": ["Acme"]},
            {"id": 7, "options": ["by id"]},
            "not an object"
        ]}"#;
        assert_eq!(
            select("/attributes/[name=Brand]/options/0", doc),
            [r#""Acme""#]
        );
        assert_eq!(
            select("/attributes/[name=Color]/options/*", doc),
            [r#""Red""#, r#""Blue""#]
        );
        assert_eq!(select("/attributes/[id=7]/options/0", doc), [r#""by id""#]);
        assert!(select("/attributes/[name=Size]/options/0", doc).is_empty());
        let pointer = Pointer::parse("/attributes/[name=Brand]/options/0").unwrap();
        assert!(!pointer.maps_over_arrays(), "names one element");
        assert!(!pointer.takes_whole_field(), "reaches into attributes");
        let escaped = Pointer::parse("/a/[k~1x=v~0w]").unwrap();
        assert_eq!(
            escaped.segments[1],
            Segment::Match {
                key: "k/x".into(),
                value: "v~w".into()
            }
        );
        assert_eq!(
            Pointer::parse("/[plain]").unwrap().segments,
            [Segment::Key("[plain]".into())],
            "no \"=\": a key"
        );
    }

    #[test]
    fn first_skips_nulls_and_reaches_stops_at_arrays() {
        let r = raw(r#"{"a": null, "b": [null, 2], "c": {"d": []}}"#);
        let record = RawRecord::parse(&r).unwrap();
        let p = |s| Pointer::parse(s).unwrap();
        assert!(p("/a").first_in(&record).unwrap().is_none());
        assert_eq!(p("/b/*").first_in(&record).unwrap().unwrap().get(), "2");
        assert!(p("/a").reaches_in(&record), "null is there");
        assert!(p("/c/d/*/src").reaches_in(&record));
        assert!(!p("/c/e").reaches_in(&record));
        assert!(!p("/z/*").reaches_in(&record));
    }

    #[test]
    fn raw_selection_keeps_numbers_exact() {
        let raw = raw(
            r#"{"variants":[{"price":123456789012345678901234567890.123456789}],"a~b":{"c/d":"x"}}"#,
        );
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
        assert!(at("").unwrap().starts_with('{'));
    }

    #[test]
    fn malformed_pointers_are_refused() {
        for bad in ["id", "products/0", "/a~2", "/a~", "/[k~2=v]"] {
            assert!(Pointer::parse(bad).is_err(), "{bad}");
        }
    }
}
