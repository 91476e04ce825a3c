//! Scalar values of a record, read from their raw text.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::value::RawValue;

use crate::source::Text;

/// Whether `raw` is a string of nothing but spaces (how some shops write "no value").
pub(super) fn is_empty_string(raw: &&RawValue) -> bool {
    raw.get().starts_with('"')
        && serde_json::from_str::<Text>(raw.get()).is_ok_and(|t| t.0.trim().is_empty())
}

/// A number or boolean as text (a number the way JSON parsers print it).
pub(super) fn scalar(raw: &str) -> Option<String> {
    match raw {
        "true" | "false" => Some(raw.to_owned()),
        _ => serde_json::from_str::<serde_json::Number>(raw)
            .ok()
            .map(|n| n.to_string()),
    }
}

/// One list element: a string (trimmed) or a number.
pub(super) fn list_item(raw: &str) -> Option<String> {
    if raw.starts_with('"') {
        let Text(text) = serde_json::from_str::<Text>(raw).ok()?;
        return Some(match text {
            Cow::Borrowed(s) => s.trim().to_owned(),
            Cow::Owned(s) => s.trim().to_owned(),
        });
    }
    match raw {
        "true" | "false" | "null" => None,
        _ if raw.starts_with(['{', '[']) => None,
        _ => scalar(raw),
    }
}

/// A whole number from a JSON integer or an integer string.
pub(super) fn integer(raw: &str) -> Option<i64> {
    if raw.starts_with('"') {
        return serde_json::from_str::<Text>(raw)
            .ok()?
            .0
            .trim()
            .parse()
            .ok();
    }
    raw.parse().ok()
}

/// An update time: RFC 3339, ISO 8601 without an offset (taken as UTC), or unix seconds (a
/// number or a numeric string).
pub(crate) fn timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let seconds = |s: i64| DateTime::from_timestamp(s, 0);
    if !raw.starts_with('"') {
        return raw.parse::<i64>().ok().and_then(seconds);
    }
    let Text(text) = serde_json::from_str::<Text>(raw).ok()?;
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    s.parse::<i64>().ok().and_then(seconds)
}
