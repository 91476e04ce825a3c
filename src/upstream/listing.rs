//! The listing as a source describes it: the URL of each page for its paging style, and what
//! a page's answer says (its records, the total, where the next page is). Pure: no I/O.

use reqwest::Url;
use reqwest::header::{HeaderMap, LINK};
use serde_json::value::RawValue;

use super::UpstreamError;
use crate::source::{Paging, Pointer, RawRecord, Source, Total};

/// Where a listing page is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageAt {
    /// `limit` products from the `skip`-th (offset and page styles; for the page style `skip`
    /// is a multiple of `limit`). `skip == 0` is also the first page of every other style.
    Offset { skip: u64, limit: u32 },
    /// The page after this cursor (cursor style).
    Cursor(String),
    /// A URL the upstream gave for the next page (link header and next URL styles).
    Url(Url),
}

impl PageAt {
    /// The first page, of any style.
    pub fn first(limit: u32) -> PageAt {
        PageAt::Offset { skip: 0, limit }
    }

    /// How the page shows in spans and errors: `skip=200 limit=100`, `cursor=…`, the URL.
    pub fn describe(&self) -> String {
        match self {
            PageAt::Offset { skip, limit } => format!("skip={skip} limit={limit}"),
            PageAt::Cursor(cursor) => format!("cursor={}", shorten(cursor)),
            PageAt::Url(url) => format!("next={}", shorten(url.as_str())),
        }
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(80).collect::<String>())
    }
}

/// How the engine can read a listing of this style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Any offset can be asked for: pages may overlap by one product (offset style).
    Offsets,
    /// Whole pages by number: pages cannot overlap (page style).
    Pages,
    /// Each page says where the next one is (cursor, link header, next URL).
    Sequential,
}

/// The access a source's paging style gives.
pub fn access(source: &Source) -> Access {
    match source.list.paging {
        Paging::Offset { .. } => Access::Offsets,
        Paging::Page { .. } => Access::Pages,
        Paging::Cursor { .. } | Paging::LinkHeader { .. } | Paging::NextUrl { .. } => {
            Access::Sequential
        }
    }
}

/// The URL of the page `at`: the list URL, its fixed query (the id-only one when `ids_only`),
/// the changed-since parameter when `since` is given, then the paging parameters.
pub fn url(
    source: &Source,
    at: &PageAt,
    ids_only: bool,
    since: Option<(&str, &str)>,
) -> Result<Url, UpstreamError> {
    let list = &source.list;
    if let PageAt::Url(next) = at {
        // Credentials go with every request: a next page on another origin is refused.
        if next.origin() != list.url.origin() {
            return Err(UpstreamError::Shape(format!(
                "the next page's URL {} is not on the listing's origin {}",
                shorten(next.as_str()),
                list.url.origin().ascii_serialization()
            )));
        }
        return Ok(next.clone());
    }
    let mut url = list.url.clone();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in &list.query {
            if !(ids_only && source.list.id_query.iter().any(|(n, _)| n == name)) {
                query.append_pair(name, value);
            }
        }
        if ids_only {
            for (name, value) in &list.id_query {
                query.append_pair(name, value);
            }
        }
        if let Some((name, value)) = since {
            query.append_pair(name, value);
        }
        match (&list.paging, at) {
            (
                Paging::Offset {
                    limit_param,
                    offset_param,
                    ..
                },
                PageAt::Offset { skip, limit },
            ) => {
                query
                    .append_pair(limit_param, &limit.to_string())
                    .append_pair(offset_param, &skip.to_string());
            }
            (
                Paging::Page {
                    limit_param,
                    page_param,
                    first_page,
                    ..
                },
                PageAt::Offset { skip, limit },
            ) => {
                let page = first_page + skip / u64::from((*limit).max(1));
                query
                    .append_pair(limit_param, &limit.to_string())
                    .append_pair(page_param, &page.to_string());
            }
            (
                Paging::Cursor {
                    limit_param,
                    cursor_param,
                    ..
                },
                at,
            ) => {
                query.append_pair(limit_param, &list.page_size.to_string());
                if let PageAt::Cursor(cursor) = at {
                    query.append_pair(cursor_param, cursor);
                }
            }
            (
                Paging::LinkHeader { limit_param } | Paging::NextUrl { limit_param, .. },
                PageAt::Offset { limit, .. },
            ) => {
                query.append_pair(limit_param, &limit.to_string());
            }
            (paging, at) => {
                return Err(UpstreamError::Shape(format!(
                    "page {} cannot be asked for with paging {paging:?}",
                    at.describe()
                )));
            }
        }
    }
    Ok(url)
}

/// A listing answer split into raw records, its total and its next page.
pub struct RawPage<'a> {
    pub records: Vec<&'a RawValue>,
    pub total: Option<u64>,
    pub next: Option<PageAt>,
}

/// Reads the answer to the page `at` (requested at `url`).
pub fn decode<'a>(
    source: &Source,
    at: &PageAt,
    url: &Url,
    headers: &HeaderMap,
    body: &'a [u8],
) -> Result<RawPage<'a>, UpstreamError> {
    let answer = Answer::split(body).map_err(super::wire::json_error)?;
    let list = &source.list;
    let records = match answer.select(&list.records).map_err(shape)? {
        Some(array) => serde_json::from_str::<Vec<&RawValue>>(array.get()).map_err(|e| {
            UpstreamError::Shape(format!(
                "the records at {:?} are not an array: {e}",
                list.records.to_string()
            ))
        })?,
        None => {
            return Err(UpstreamError::Shape(format!(
                "the answer has no records at {:?}",
                list.records.to_string()
            )));
        }
    };
    let total = match &list.paging {
        Paging::Offset { total, .. } | Paging::Page { total, .. } => match total {
            Some(Total::Body(pointer)) => read_count(answer.select(pointer).map_err(shape)?),
            Some(Total::Header(name)) => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
            None => None,
        },
        _ => None,
    };
    let served = records.len() as u64;
    let next = match (&list.paging, at) {
        // Offsets and page numbers go on while the total says more follow, or, without a
        // total, while pages come full.
        (Paging::Offset { .. } | Paging::Page { .. }, PageAt::Offset { skip, limit }) => {
            let more = match total {
                Some(total) => skip + served < total,
                None => served >= u64::from(*limit),
            };
            (served > 0 && more).then(|| PageAt::Offset {
                skip: skip + u64::from(*limit),
                limit: *limit,
            })
        }
        (Paging::Cursor { cursor, .. }, _) => {
            read_text(answer.select(cursor).map_err(shape)?).map(PageAt::Cursor)
        }
        (Paging::NextUrl { next_url, .. }, _) => {
            match read_text(answer.select(next_url).map_err(shape)?) {
                Some(text) => Some(PageAt::Url(url.join(&text).map_err(|e| {
                    UpstreamError::Shape(format!("the next page's URL {text:?}: {e}"))
                })?)),
                None => None,
            }
        }
        (Paging::LinkHeader { .. }, _) => next_link(headers, url)?.map(PageAt::Url),
        _ => None,
    };
    Ok(RawPage {
        records,
        total,
        next,
    })
}

/// An answer, its top level split into its members when it is an object: the records, the
/// total and the paging fields are then found in one pass over the answer's bytes.
enum Answer<'a> {
    Object(RawRecord<'a>),
    Other(&'a RawValue),
}

impl<'a> Answer<'a> {
    fn split(body: &'a [u8]) -> Result<Answer<'a>, serde_json::Error> {
        if body.trim_ascii_start().starts_with(b"{") {
            RawRecord::split_slice(body).map(Answer::Object)
        } else {
            serde_json::from_slice(body).map(Answer::Other)
        }
    }

    /// The first value `pointer` selects in the answer (null included).
    fn select(&self, pointer: &Pointer) -> Result<Option<&'a RawValue>, serde_json::Error> {
        match self {
            Answer::Object(top) => {
                let mut selected = Vec::new();
                pointer.select_in(top, &mut selected)?;
                Ok(selected.first().copied())
            }
            Answer::Other(root) => pointer.select_raw(root),
        }
    }
}

fn shape(e: serde_json::Error) -> UpstreamError {
    UpstreamError::Shape(e.to_string())
}

/// A count from a JSON number or a numeric string.
fn read_count(raw: Option<&RawValue>) -> Option<u64> {
    let text = raw?.get();
    let text = text.trim().trim_matches('"');
    text.parse().ok()
}

/// A cursor or URL: a non-empty string, or a number written as text; absent, null or "" end
/// the listing.
fn read_text(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
        serde_json::Value::String(text) if !text.is_empty() => Some(text),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `rel="next"` target of the `Link` headers (RFC 8288), resolved against `base`.
fn next_link(headers: &HeaderMap, base: &Url) -> Result<Option<Url>, UpstreamError> {
    for value in headers.get_all(LINK) {
        let Ok(text) = value.to_str() else { continue };
        for (target, params) in link_values(text) {
            let is_next = params.iter().any(|(name, value)| {
                name.eq_ignore_ascii_case("rel")
                    && value
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return base.join(target).map(Some).map_err(|e| {
                    UpstreamError::Shape(format!("the Link header's next URL {target:?}: {e}"))
                });
            }
        }
    }
    Ok(None)
}

/// The link values of one `Link` header: `<target>; name="value"; …, <target>; …`.
fn link_values(text: &str) -> Vec<(&str, Vec<(&str, String)>)> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        // Parameters run to the next link's '<' after a comma outside quotes.
        let mut params = Vec::new();
        let mut end = rest.len();
        let mut in_quotes = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        for param in rest[..end].split(';') {
            if let Some((name, value)) = param.split_once('=') {
                params.push((name.trim(), value.trim().trim_matches('"').to_owned()));
            }
        }
        links.push((target, params));
        rest = &rest[end..];
    }
    links
}

#[cfg(test)]
mod tests;
