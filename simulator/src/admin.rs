//! The admin API under `/__sim`, for driving a simulator that runs in another process: stats,
//! the catalog's shape, product changes and field overrides, variants, faults, listing quirks
//! and changes fired by listing requests. Admin requests are counted but never delayed, limited,
//! faulted or asked for credentials.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::catalog::FieldSet;
use super::faults::FaultRequest;
use super::listing::{ChangeRequest, ListingQuirks};
use super::overrides::FieldsBody;
use super::server::{Kind, Shared, json_response, message};
use super::shapes::text_of;
use super::variant_api::{VariantChange, VariantRefusal};

/// The admin routes, all under `/__sim`.
pub(crate) fn admin_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route("/__sim/catalog", get(catalog))
        .route("/__sim/products", post(add))
        .route("/__sim/products/{id}", delete(remove))
        .route("/__sim/products/{id}/mutate", post(mutate))
        .route("/__sim/products/{id}/title", post(title))
        .route("/__sim/products/{id}/fields", post(fields))
        .route(
            "/__sim/products/{id}/variants",
            get(variants).post(add_variant),
        )
        .route(
            "/__sim/products/{id}/variants/{vid}",
            delete(remove_variant),
        )
        .route(
            "/__sim/products/{id}/variants/{vid}/price",
            post(variant_price),
        )
        .route("/__sim/faults", post(add_fault).delete(clear_faults))
        .route("/__sim/listing", post(set_listing).delete(clear_listing))
        .route("/__sim/listing/changes", post(add_change))
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    json_response(status, value.to_string().into_bytes(), false)
}

fn bad_request(text: &str) -> Response {
    message(StatusCode::BAD_REQUEST, text)
}

fn not_live(id: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        &format!("Product with id '{id}' not found"),
    )
}

/// The product's current JSON, or 404.
fn product_answer(shared: &Shared, id: u64) -> Response {
    match shared.product_json(id, FieldSet::ALL) {
        Some(body) => json_response(StatusCode::OK, body, false),
        None => not_live(&id.to_string()),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    shared.count(Kind::Admin);
    let counters = &shared.counters;
    let products = shared.catalog().live_count();
    let value = serde_json::json!({
        "requests": counters.total.load(Ordering::Relaxed),
        "products": products,
        "list": counters.list.load(Ordering::Relaxed),
        "single": counters.single.load(Ordering::Relaxed),
        "admin": counters.admin.load(Ordering::Relaxed),
        "list_ids_only": counters.list_ids_only.load(Ordering::Relaxed),
        "rate_limited": counters.rate_limited.load(Ordering::Relaxed),
        "compressed": counters.compressed.load(Ordering::Relaxed),
        "variations": counters.variations.load(Ordering::Relaxed),
    });
    json(StatusCode::OK, &value)
}

/// The catalog's shape, for a model of it in another process: live count, highest id ever
/// created and the deleted ids (live ids are `1..=last_id` minus those).
async fn catalog(State(shared): State<Arc<Shared>>) -> Response {
    shared.count(Kind::Admin);
    let value = {
        let catalog = shared.catalog();
        serde_json::json!({
            "products": catalog.live_count(),
            "last_id": catalog.last_id(),
            "deleted": catalog.deleted(),
        })
    };
    json(StatusCode::OK, &value)
}

async fn add(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    shared.count(Kind::Admin);
    let count = match params.get("count").map(|c| c.parse::<u64>()) {
        Some(Ok(count)) => count,
        _ => return bad_request("'count' must be a non-negative integer"),
    };
    let products = {
        let mut catalog = shared.catalog_mut();
        catalog.add(count);
        catalog.live_count()
    };
    json(StatusCode::OK, &serde_json::json!({ "products": products }))
}

async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.count(Kind::Admin);
    let deleted = id.parse().is_ok_and(|n| shared.catalog_mut().delete(n));
    if deleted {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_live(&id)
    }
}

async fn mutate(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.count(Kind::Admin);
    let Ok(n) = id.parse::<u64>() else {
        return not_live(&id);
    };
    let mutated = shared.catalog_mut().mutate(n);
    if mutated {
        product_answer(&shared, n)
    } else {
        not_live(&id)
    }
}

#[derive(Deserialize)]
struct TitleRequest {
    title: String,
}

async fn title(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    shared.count(Kind::Admin);
    let request: TitleRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return bad_request(&format!("expected {{\"title\": \"...\"}}: {e}")),
    };
    let Ok(n) = id.parse::<u64>() else {
        return not_live(&id);
    };
    let renamed = shared.catalog_mut().set_title(n, &request.title);
    if renamed {
        product_answer(&shared, n)
    } else {
        not_live(&id)
    }
}

/// Overrides fields from a JSON object; values stay raw text, `null` omits a field. All of them
/// make one upstream change (one version step).
async fn fields(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    shared.count(Kind::Admin);
    let FieldsBody(fields) = match serde_json::from_slice(&body) {
        Ok(fields) => fields,
        Err(e) => return bad_request(&format!("expected a JSON object of fields: {e}")),
    };
    if fields
        .iter()
        .any(|(name, value)| name == "id" && value.is_none())
    {
        return bad_request("'id' cannot be omitted");
    }
    let Ok(n) = id.parse::<u64>() else {
        return not_live(&id);
    };
    // An empty object changes nothing, so it is no upstream change either.
    let live = if fields.is_empty() {
        shared.catalog().is_live(n)
    } else {
        shared.catalog_mut().set_fields(n, fields)
    };
    if live {
        product_answer(&shared, n)
    } else {
        not_live(&id)
    }
}

/// A product's variants as [`crate::SimVariant`]s, or 404.
async fn variants(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.count(Kind::Admin);
    let list = id.parse().ok().and_then(|n| shared.sim_variants(n));
    match list.map(|list| serde_json::to_vec(&list)) {
        Some(Ok(body)) => json_response(StatusCode::OK, body, false),
        Some(Err(e)) => message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        None => not_live(&id),
    }
}

/// The answer to a variant change of product `id` (and variant `vid`, when it names one):
/// `{"id": variant id}`, or why it was refused.
fn variant_answer<'a>(
    shared: &Shared,
    id: &str,
    vid: &str,
    change: impl FnOnce(u64) -> VariantChange<'a>,
) -> Response {
    let Ok(n) = id.parse::<u64>() else {
        return not_live(id);
    };
    let no_variant = || {
        let text = format!("Product '{id}' has no variant '{vid}'");
        message(StatusCode::NOT_FOUND, &text)
    };
    // An added variant names none: 0 is no variant id.
    let Ok(variant) = (if vid.is_empty() { Ok(0) } else { vid.parse() }) else {
        return no_variant();
    };
    match shared.change_variant(n, change(variant)) {
        Ok(variant) => json(StatusCode::OK, &serde_json::json!({ "id": variant })),
        Err(VariantRefusal::NotLive) => not_live(id),
        Err(VariantRefusal::NoVariant) => no_variant(),
        Err(VariantRefusal::InvalidPrice) => {
            bad_request("'price' must be decimal text such as \"12.34\"")
        }
        Err(VariantRefusal::NoCombinationLeft) => message(
            StatusCode::CONFLICT,
            &format!("Product '{id}' lists every size and colour already"),
        ),
    }
}

/// Adds a variant: `{"id": its id}`; 409 when every combination is listed.
async fn add_variant(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.count(Kind::Admin);
    variant_answer(&shared, &id, "", |_| VariantChange::Add)
}

async fn remove_variant(
    State(shared): State<Arc<Shared>>,
    Path((id, vid)): Path<(String, String)>,
) -> Response {
    shared.count(Kind::Admin);
    let response = variant_answer(&shared, &id, &vid, VariantChange::Remove);
    if response.status() == StatusCode::OK {
        StatusCode::NO_CONTENT.into_response()
    } else {
        response
    }
}

#[derive(Deserialize)]
struct PriceRequest {
    price: Box<RawValue>,
}

/// Sets a variant's price from `{"price": "12.34"}` (a JSON number's text counts too).
async fn variant_price(
    State(shared): State<Arc<Shared>>,
    Path((id, vid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    shared.count(Kind::Admin);
    let price = match serde_json::from_slice::<PriceRequest>(&body) {
        Ok(request) => text_of(&request.price),
        Err(e) => return bad_request(&format!("expected {{\"price\": \"12.34\"}}: {e}")),
    };
    variant_answer(&shared, &id, &vid, |variant| {
        VariantChange::Price(variant, &price)
    })
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.count(Kind::Admin);
    match serde_json::from_slice::<FaultRequest>(&body) {
        Ok(request) => {
            request.apply(&mut shared.faults());
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(&format!("invalid fault: {e}")),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.count(Kind::Admin);
    shared.faults().clear();
    shared.rewrites().clear();
    StatusCode::NO_CONTENT.into_response()
}

/// Replaces the listing quirks (fields left out are turned off).
async fn set_listing(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.count(Kind::Admin);
    match serde_json::from_slice::<ListingQuirks>(&body) {
        Ok(quirks) => {
            *shared.listing() = quirks;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(&format!("invalid listing quirks: {e}")),
    }
}

async fn clear_listing(State(shared): State<Arc<Shared>>) -> Response {
    shared.count(Kind::Admin);
    *shared.listing() = ListingQuirks::default();
    StatusCode::NO_CONTENT.into_response()
}

/// Queues a catalog change for the n-th listing request from now.
async fn add_change(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.count(Kind::Admin);
    match serde_json::from_slice::<ChangeRequest>(&body) {
        Ok(ChangeRequest { n: 0, .. }) => bad_request("'n' counts from 1: the next request"),
        Ok(request) => {
            shared.triggers().push(request.n, request.change.into());
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(&format!("invalid listing change: {e}")),
    }
}
