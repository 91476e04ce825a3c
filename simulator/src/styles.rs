//! Keyset-paged listings of DummyJSON-shaped products: the cursor style
//! (`GET /cursor/products` → `{"data":[...],"next_cursor":"…"|null}`) and the next-URL style
//! (`GET /next/products` → `{"items":[...],"links":{"next":"http://…"|null}}`), and the opaque
//! cursor they (and Shopify's `page_info`) carry. A cursor holds the last id served and the
//! "changed since" filter, so the next page needs nothing else.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::catalog::ProductSpec;
use super::server::{Kind, Params, Shared, capped, message, number, param, since};

/// Where a keyset listing goes on from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The last id served: the next page starts above it.
    pub after: u64,
    /// The listing's "changed since" filter, in milliseconds since the epoch.
    pub since: Option<u64>,
}

impl Cursor {
    /// The opaque text of the cursor.
    pub(crate) fn encode(self) -> String {
        let since = self.since.map(|s| s.to_string()).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("c1:{}:{since}", self.after))
    }

    /// Reads a cursor this simulator made; `None` for anything else.
    pub(crate) fn decode(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.strip_prefix("c1:")?.split(':');
        let after = parts.next()?.parse().ok()?;
        let since = match parts.next()? {
            "" => None,
            since => Some(since.parse().ok()?),
        };
        parts.next().is_none().then_some(Cursor { after, since })
    }
}

/// The keyset listing a request asks for: the cursor (the request's own filter wins over the
/// cursor's) and the page size. `Err` is the 400 answer's message.
pub(crate) fn keyset_request(
    params: &[(String, String)],
    cursor_param: &str,
    since_param: &str,
) -> Result<Cursor, String> {
    let mut cursor = match param(params, cursor_param) {
        None => Cursor::default(),
        Some(text) => Cursor::decode(text).ok_or_else(|| String::from("invalid cursor"))?,
    };
    if let Some(since) = since(params, since_param)? {
        cursor.since = Some(since);
    }
    Ok(cursor)
}

/// A keyset page of specs for `cursor`, and the cursor of the next page if more follow.
pub(crate) fn keyset_specs(
    shared: &Shared,
    cursor: Cursor,
    limit: u64,
) -> (Vec<ProductSpec>, Option<Cursor>) {
    let (specs, more) = {
        let catalog = shared.catalog();
        shared
            .products
            .keyset_page(&catalog, cursor.since, cursor.after, limit)
    };
    let cycle_after = shared.listing().keyset_cycle_after;
    let next = specs.last().filter(|_| more).map(|last| Cursor {
        after: if cycle_after.is_some_and(|at| last.id > at) {
            0
        } else {
            last.id
        },
        since: cursor.since,
    });
    (specs, next)
}

/// The keyset routes with DummyJSON-shaped products.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/cursor/products", get(cursor_list))
        .route("/next/products", get(next_list))
}

/// The two styles' differences: parameter names and the page's envelope.
#[derive(Clone, Copy)]
enum Style {
    Cursor,
    NextUrl,
}

async fn cursor_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    keyset_list(&shared, &headers, params, Style::Cursor).await
}

async fn next_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    keyset_list(&shared, &headers, params, Style::NextUrl).await
}

async fn keyset_list(
    shared: &Shared,
    headers: &HeaderMap,
    params: Params,
    style: Style,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    // Keyset pages have no offset, so no page fails for good here.
    let delivery = match shared.gate(Kind::List, headers, None).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let cursor_param = match style {
        Style::Cursor => "cursor",
        Style::NextUrl => "after",
    };
    let request = number(&params, "limit", 30).and_then(|limit| {
        Ok((
            limit,
            keyset_request(&params, cursor_param, "updated_since")?,
        ))
    });
    let (limit, cursor) = match request {
        Ok(request) => request,
        Err(text) => return message(StatusCode::BAD_REQUEST, &text),
    };
    let limit = capped(shared.max_limit, limit);
    let (specs, next) = keyset_specs(shared, cursor, limit);
    let fields = shared.fields(&params);
    let mut body = Vec::with_capacity(64 + specs.len().min(2000) * 1500);
    body.extend_from_slice(match style {
        Style::Cursor => b"{\"data\":[",
        Style::NextUrl => b"{\"items\":[",
    });
    for (i, spec) in specs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        if let Err(e) = shared.products.write(&mut body, spec, fields) {
            return message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
        }
    }
    let next = next.map(|next| match style {
        Style::Cursor => next.encode(),
        Style::NextUrl => {
            let mut query = vec![("limit", limit.to_string()), ("after", next.encode())];
            if let Some(select) = param(&params, "select") {
                query.push(("select", select.to_owned()));
            }
            absolute(shared, "/next/products", &query)
        }
    });
    let next = serde_json::to_string(&next).unwrap_or_else(|_| String::from("null"));
    let tail = match style {
        Style::Cursor => format!("],\"next_cursor\":{next}}}"),
        Style::NextUrl => format!("],\"links\":{{\"next\":{next}}}}}"),
    };
    body.extend_from_slice(tail.as_bytes());
    delivery.respond(StatusCode::OK, body)
}

/// `http://{addr}{path}?{query}` on the simulator's own address, the query encoded.
pub(crate) fn absolute(shared: &Shared, path: &str, query: &[(&str, String)]) -> String {
    match reqwest::Url::parse(&format!("{}{path}", shared.base)) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
            url.to_string()
        }
        Err(_) => format!("{}{path}", shared.base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for cursor in [
            Cursor::default(),
            Cursor {
                after: 194,
                since: Some(1_740_823_200_000),
            },
        ] {
            let text = cursor.encode();
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(Cursor::decode(&text), Some(cursor));
        }
        for bad in [
            "",
            "42",
            "!!",
            &URL_SAFE_NO_PAD.encode("c2:1:"),
            &URL_SAFE_NO_PAD.encode("c1:x:"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        let extra = URL_SAFE_NO_PAD.encode("c1:5::");
        assert_eq!(Cursor::decode(&extra), None);
    }
}
