//! The WooCommerce REST v3 and Shopify Admin REST routes over the same catalog:
//! page-numbered listing with `X-WP-Total` headers (`/wc/v3/products`), `Link`-header
//! keyset listing (`/admin/api/2024-07/products.json`), their item routes, WooCommerce's
//! variations (`/wc/v3/products/{id}/variations`), and each platform's error bodies.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::catalog::ProductSpec;
use super::clock::now_ms;
use super::delivery::Delivery;
use super::server::{Kind, Params, Shared, capped, json_response, number, param, since};
use super::shapes::{ShopifyProduct, Source, WooProduct};
use super::styles::{Cursor, absolute, keyset_request, keyset_specs};
use super::variant_shapes::WooVariation;

/// WooCommerce's largest `per_page`.
const WOO_MAX_PER_PAGE: u64 = 100;
/// Shopify's default and largest `limit`.
const SHOPIFY_LIMIT: (u64, u64) = (50, 250);
/// The Shopify API version in the paths.
const SHOPIFY_PRODUCTS: &str = "/admin/api/2024-07/products.json";

/// The WooCommerce and Shopify routes. WooCommerce's are served both where WordPress puts them
/// (`/wp-json/wc/v3/...`, what the `woocommerce` preset asks for) and without the prefix.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/wc/v3/products", get(woo_list))
        .route("/wc/v3/products/{id}", get(woo_single))
        .route("/wc/v3/products/{id}/variations", get(woo_variations))
        .route("/wp-json/wc/v3/products", get(woo_list))
        .route("/wp-json/wc/v3/products/{id}", get(woo_single))
        .route(
            "/wp-json/wc/v3/products/{id}/variations",
            get(woo_variations),
        )
        .route(SHOPIFY_PRODUCTS, get(shopify_list))
        .route("/admin/api/2024-07/products/{file}", get(shopify_single))
}

/// `specs` mapped to another shape; `Err` is a 500's message.
fn shaped<T>(
    shared: &Shared,
    specs: &[ProductSpec],
    shape: fn(&Source<'_>) -> T,
) -> Result<Vec<T>, String> {
    let products = &shared.products;
    specs
        .iter()
        .map(|spec| {
            let fields = products.fields(spec).map_err(|e| e.to_string())?;
            let variants = products.variants(spec);
            Ok(shape(&Source {
                id: spec.id,
                fields: &fields,
                created_ms: products.created_ms(spec),
                updated_ms: products.updated_ms(spec),
                variants: &variants,
            }))
        })
        .collect()
}

fn json<T: Serialize>(status: StatusCode, value: &T, delivery: Delivery) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => delivery.respond(status, body),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "message": e.to_string() })
                .to_string()
                .into_bytes(),
            false,
        ),
    }
}

/// WooCommerce's error body: `{"code":…,"message":…,"data":{"status":…}}`.
fn woo_error(status: StatusCode, code: &str, text: &str) -> Response {
    let body =
        serde_json::json!({ "code": code, "message": text, "data": { "status": status.as_u16() } });
    json(status, &body, Delivery::default())
}

fn woo_bad_param(name: &str) -> Response {
    woo_error(
        StatusCode::BAD_REQUEST,
        "rest_invalid_param",
        &format!("Invalid parameter(s): {name}"),
    )
}

async fn woo_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let page = number(&params, "page", 1).ok().filter(|&p| p >= 1);
    let per_page = number(&params, "per_page", 10)
        .ok()
        .filter(|&n| n >= 1)
        .map(|n| capped(shared.max_limit, n.min(WOO_MAX_PER_PAGE)));
    let skip = page.zip(per_page).map(|(p, n)| (p - 1).saturating_mul(n));
    let delivery = match shared.gate(Kind::List, &headers, skip).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let (Some(skip), Some(per_page)) = (skip, per_page) else {
        return woo_bad_param(if page.is_none() { "page" } else { "per_page" });
    };
    let Ok(since) = since(&params, "modified_after") else {
        return woo_bad_param("modified_after");
    };
    let quirks = shared.listing().clone();
    let (live, specs) = {
        let catalog = shared.catalog();
        let served = quirks.served_skip(skip, per_page);
        shared
            .products
            .offset_page(&catalog, since, served, per_page)
    };
    let total = quirks.total.unwrap_or(live);
    let products = match shaped(&shared, &specs, WooProduct::new) {
        Ok(products) => products,
        Err(e) => return woo_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e),
    };
    let mut response = json(StatusCode::OK, &products, delivery);
    total_headers(&mut response, total, total.div_ceil(per_page));
    response
}

async fn woo_single(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let delivery = match shared.gate(Kind::Single, &headers, None).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let spec = id.parse().ok().and_then(|id| shared.catalog().spec(id));
    let Some(spec) = spec else {
        return woo_not_found(delivery);
    };
    match shaped(&shared, &[spec], WooProduct::new) {
        Ok(mut products) => match products.pop() {
            Some(product) => json(StatusCode::OK, &product, delivery),
            None => woo_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "no product",
            ),
        },
        Err(e) => woo_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e),
    }
}

/// WooCommerce's answer for a product id that does not exist.
fn woo_not_found(delivery: Delivery) -> Response {
    let body = serde_json::json!({
        "code": "woocommerce_rest_product_invalid_id",
        "message": "Invalid ID.",
        "data": { "status": 404 },
    });
    json(StatusCode::NOT_FOUND, &body, delivery)
}

/// A product's variations, page-numbered like the products (`per_page` 10 by default, at
/// most 100), with `X-WP-Total` and `X-WP-TotalPages`; a simple product has none.
async fn woo_variations(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let delivery = match shared.gate(Kind::Variations, &headers, None).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let Some(page) = number(&params, "page", 1).ok().filter(|&p| p >= 1) else {
        return woo_bad_param("page");
    };
    let per_page = number(&params, "per_page", 10)
        .ok()
        .filter(|&n| n >= 1)
        .map(|n| capped(shared.max_limit, n.min(WOO_MAX_PER_PAGE)));
    let Some(per_page) = per_page else {
        return woo_bad_param("per_page");
    };
    let spec = id.parse().ok().and_then(|id| shared.catalog().spec(id));
    let Some(spec) = spec else {
        return woo_not_found(delivery);
    };
    let products = &shared.products;
    let variants = products.variants(&spec);
    let times = (products.created_ms(&spec), products.updated_ms(&spec));
    let now = now_ms();
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    let page: Vec<WooVariation> = variants
        .iter()
        .enumerate()
        .skip(skip)
        .take(take)
        .map(|(order, v)| WooVariation::new(v, order, times, now))
        .collect();
    let total = variants.len() as u64;
    let mut response = json(StatusCode::OK, &page, delivery);
    total_headers(&mut response, total, total.div_ceil(per_page));
    response
}

/// WooCommerce's `X-WP-Total` and `X-WP-TotalPages`.
fn total_headers(response: &mut Response, total: u64, pages: u64) {
    for (name, value) in [("x-wp-total", total), ("x-wp-totalpages", pages)] {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

#[derive(Serialize)]
struct ShopifyList {
    products: Vec<ShopifyProduct>,
}

#[derive(Serialize)]
struct ShopifyOne {
    product: ShopifyProduct,
}

fn shopify_error(status: StatusCode, errors: serde_json::Value) -> Response {
    json(
        status,
        &serde_json::json!({ "errors": errors }),
        Delivery::default(),
    )
}

async fn shopify_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let delivery = match shared.gate(Kind::List, &headers, None).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let (default, max) = SHOPIFY_LIMIT;
    let Ok(limit) = number(&params, "limit", default) else {
        return shopify_error(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "limit": "Invalid value." }),
        );
    };
    let limit = capped(shared.max_limit, limit.clamp(1, max));
    let cursor = match keyset_request(&params, "page_info", "updated_at_min") {
        Ok(cursor) => cursor,
        Err(_) => {
            let field = if param(&params, "page_info").is_some_and(|p| Cursor::decode(p).is_none())
            {
                "page_info"
            } else {
                "updated_at_min"
            };
            return shopify_error(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ field: "Invalid value." }),
            );
        }
    };
    let (specs, next) = keyset_specs(&shared, cursor, limit);
    let products = match shaped(&shared, &specs, ShopifyProduct::new) {
        Ok(products) => products,
        Err(e) => return shopify_error(StatusCode::INTERNAL_SERVER_ERROR, e.into()),
    };
    let mut response = json(StatusCode::OK, &ShopifyList { products }, delivery);
    if let Some(next) = next {
        let query = [("limit", limit.to_string()), ("page_info", next.encode())];
        let link = format!(
            "<{}>; rel=\"next\"",
            absolute(&shared, SHOPIFY_PRODUCTS, &query)
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

async fn shopify_single(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let delivery = match shared.gate(Kind::Single, &headers, None).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let spec = file
        .strip_suffix(".json")
        .and_then(|id| id.parse().ok())
        .and_then(|id| shared.catalog().spec(id));
    let not_found = |delivery| {
        json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "errors": "Not Found" }),
            delivery,
        )
    };
    let Some(spec) = spec else {
        return not_found(delivery);
    };
    match shaped(&shared, &[spec], ShopifyProduct::new) {
        Ok(mut products) => match products.pop() {
            Some(product) => json(StatusCode::OK, &ShopifyOne { product }, delivery),
            None => not_found(delivery),
        },
        Err(e) => shopify_error(StatusCode::INTERNAL_SERVER_ERROR, e.into()),
    }
}
