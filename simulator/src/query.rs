//! Query parameters as every product route reads them: numbers, `select`, "changed since"
//! values and the page-size cap.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;

use super::catalog::{FieldSet, names};
use super::clock::parse_since;

/// A route's query parameters, in order; a malformed query string reads as none.
pub(crate) type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The value of query parameter `name` (the last one if repeated).
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A numeric query parameter; `Err` is the message of a 400 answer.
pub(crate) fn number(params: &[(String, String)], name: &str, default: u64) -> Result<u64, String> {
    match param(params, name) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| {
            format!("Invalid '{name}' parameter: '{text}' is not a non-negative integer")
        }),
    }
}

pub(crate) fn fields(params: &[(String, String)]) -> FieldSet<'_> {
    param(params, "select").map_or(FieldSet::ALL, FieldSet::parse)
}

/// Whether a `select` asks for no field but `id` (`select=id`): the id-only pass of a sync.
pub(crate) fn selects_ids_only(params: &[(String, String)]) -> bool {
    param(params, "select").is_some_and(|select| {
        names(select)
            .filter(|name| !name.is_empty())
            .all(|name| name == "id")
    })
}

/// A "changed since" parameter in milliseconds since the epoch; `Err` is the message of a
/// 400 answer.
pub(crate) fn since(params: &[(String, String)], name: &str) -> Result<Option<u64>, String> {
    match param(params, name) {
        None => Ok(None),
        Some(text) => parse_since(text).map(Some).ok_or_else(|| {
            format!(
                "Invalid '{name}' parameter: '{text}' is not RFC 3339, ISO 8601 or Unix seconds"
            )
        }),
    }
}

/// `limit` after the page-size cap: a larger one, or 0 (everything), gets `max_limit`.
pub(crate) fn capped(max_limit: Option<u64>, limit: u64) -> u64 {
    match max_limit {
        Some(max) if limit == 0 || limit > max => max,
        _ => limit,
    }
}
