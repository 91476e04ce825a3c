//! What a verified webhook asks of the bus, per sender: which message to publish (and under
//! which `Nats-Msg-Id`), or nothing. Pure: headers and body in, a decision out.
//!
//! A product body is a hint with authentic content. With a version (Shopify `updated_at`,
//! WooCommerce `date_modified_gmt`) it is published as event-carried state, read by the
//! worker with the source's mapping; without one only the product id goes out and the worker
//! fetches the product. A deletion never carries a version: topic headers are not signed, so a
//! replayed body under a forged delete topic must not archive a live product, and the worker
//! confirms every versionless deletion with the upstream first.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::ProductId;
use crate::messages::{InvalidMessage, ProductUpdated, SyncRequested};

/// Who sent a webhook: one route each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    Shopify,
    WooCommerce,
    Standard,
}

impl Sender {
    pub const ALL: [Sender; 3] = [Sender::Shopify, Sender::WooCommerce, Sender::Standard];

    /// The `source` label of the webhook metric, and the route's last segment.
    pub fn name(self) -> &'static str {
        match self {
            Sender::Shopify => "shopify",
            Sender::WooCommerce => "woocommerce",
            Sender::Standard => "standard",
        }
    }

    pub fn route(self) -> &'static str {
        match self {
            Sender::Shopify => "/webhooks/shopify",
            Sender::WooCommerce => "/webhooks/woocommerce",
            Sender::Standard => "/webhooks/standard",
        }
    }

    /// The variable holding the route's secrets.
    pub fn secret_variable(self) -> &'static str {
        match self {
            Sender::Shopify => "SHOPIFY_WEBHOOK_SECRET",
            Sender::WooCommerce => "WOOCOMMERCE_WEBHOOK_SECRET",
            Sender::Standard => "STANDARD_WEBHOOK_SECRET",
        }
    }
}

/// Which message a webhook becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `product.updated`
    ProductUpdated,
    /// `catalog.sync.requested`
    SyncRequested,
}

/// A message to publish.
#[derive(Debug, PartialEq)]
pub struct Publication {
    pub kind: Kind,
    /// `Nats-Msg-Id`: a retried delivery is stored once within the stream's duplicate window.
    pub message_id: Option<String>,
    pub body: Vec<u8>,
    /// The product it is about, for the span and the log.
    pub product_id: Option<String>,
}

/// What to do with a verified webhook.
#[derive(Debug, PartialEq)]
pub enum Action {
    Publish(Publication),
    /// Answered 200 and nothing published: a topic that is not about products, or a ping.
    Ignore(String),
}

/// A signed body that cannot be read: answered 400 (the sender's bug, not ours to retry).
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A delivery id usable in `Nats-Msg-Id` (and a sync request's id): the characters of product
/// ids, at most 200. Anything else is not used for deduplication.
fn delivery_id(prefix: &str, id: Option<&str>) -> Option<String> {
    let id = id?.trim();
    let usable = !id.is_empty() && id.len() <= 180 && id.chars().all(crate::domain::is_id_char);
    usable.then(|| format!("{prefix}-{id}"))
}

/// The fields of a shop's product body the ingress reads; the rest travels untouched.
#[derive(Deserialize)]
struct Resource<'a> {
    id: ProductId,
    #[serde(borrow, default)]
    updated_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    date_modified_gmt: Option<&'a RawValue>,
    /// WooCommerce: the variable product a variation belongs to (0 for a product).
    #[serde(default)]
    parent_id: Option<ProductId>,
}

fn resource(body: &[u8]) -> Result<Resource<'_>, Unreadable> {
    serde_json::from_slice(body).map_err(|e| Unreadable(format!("not a product body: {e}")))
}

/// A product changed: carried with its version when it has one, else only its id.
fn changed(id: ProductId, version: Option<DateTime<Utc>>, body: &[u8]) -> ProductUpdated {
    let carried = version.and_then(|_| {
        let text = std::str::from_utf8(body).ok()?;
        RawValue::from_string(text.to_owned()).ok()
    });
    ProductUpdated {
        product_id: id.0,
        updated_at: version.filter(|_| carried.is_some()),
        deleted: false,
        product: carried,
    }
}

fn deleted(id: ProductId) -> ProductUpdated {
    ProductUpdated {
        product_id: id.0,
        updated_at: None,
        deleted: true,
        product: None,
    }
}

fn product_publication(event: ProductUpdated, message_id: Option<String>) -> Action {
    Action::Publish(Publication {
        kind: Kind::ProductUpdated,
        message_id,
        product_id: Some(event.product_id.clone()),
        body: event.encode(),
    })
}

/// Shopify: `X-Shopify-Topic` `products/create|update|delete`; the body is the product (for a
/// deletion, `{"id": …}`).
pub fn shopify(headers: &HeaderMap, body: &[u8]) -> Result<Action, Unreadable> {
    let topic = header(headers, "x-shopify-topic").unwrap_or_default();
    let message_id = delivery_id(
        "shopify",
        header(headers, "x-shopify-event-id").or_else(|| header(headers, "x-shopify-webhook-id")),
    );
    let event = match topic {
        "products/create" | "products/update" => {
            let product = resource(body)?;
            let version = product
                .updated_at
                .and_then(|raw| crate::upstream::timestamp(raw.get()));
            changed(product.id, version, body)
        }
        "products/delete" => deleted(resource(body)?.id),
        other => {
            return Ok(Action::Ignore(format!(
                "topic {other:?} is not about products"
            )));
        }
    };
    Ok(product_publication(event, message_id))
}

/// WooCommerce's activation ping: a form body `webhook_id=N`, sent unsigned when a webhook is
/// saved as active.
pub fn is_woocommerce_ping(body: &[u8]) -> bool {
    body.strip_prefix(b"webhook_id=")
        .is_some_and(|n| !n.is_empty() && n.len() <= 20 && n.iter().all(u8::is_ascii_digit))
}

/// WooCommerce: `X-WC-Webhook-Topic` `product.created|updated|deleted|restored`; the body is
/// the product (for a deletion, `{"id": …}`). WooCommerce has no stable delivery id: a
/// product's id with its `date_modified_gmt` deduplicates a change; deletions get none (they
/// are confirmed and idempotent, and a key without a version could swallow a later deletion).
pub fn woocommerce(headers: &HeaderMap, body: &[u8]) -> Result<Action, Unreadable> {
    if is_woocommerce_ping(body) {
        return Ok(Action::Ignore("WooCommerce ping".into()));
    }
    let topic = header(headers, "x-wc-webhook-topic").unwrap_or_default();
    match topic {
        "product.created" | "product.updated" | "product.restored" => {
            let product = resource(body)?;
            let version = product
                .date_modified_gmt
                .and_then(|raw| crate::upstream::timestamp(raw.get()));
            let message_id = woocommerce_change_id(&product.id.0, version);
            let event = match product.parent_id.filter(|parent| parent.0 != "0") {
                // A variation changed: its product is fetched, with all its variations.
                Some(parent) => changed(parent, None, body),
                None => changed(product.id, version, body),
            };
            Ok(product_publication(event, message_id))
        }
        "product.deleted" => Ok(product_publication(deleted(resource(body)?.id), None)),
        other => Ok(Action::Ignore(format!(
            "topic {other:?} is not about products"
        ))),
    }
}

/// A WooCommerce change's `Nats-Msg-Id`: the resource's id and its `date_modified_gmt`.
fn woocommerce_change_id(id: &str, version: Option<DateTime<Utc>>) -> Option<String> {
    let version = version?.format("%Y%m%dT%H%M%S%.fZ");
    delivery_id("woocommerce", Some(&format!("{id}-{version}")))
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Standard Webhooks: `{"type": "product.updated" | "catalog.sync.requested", "timestamp": …,
/// "data": <that message's body>}`; the data is checked as that message and published as it
/// came (the sender signed it).
pub fn standard(headers: &HeaderMap, body: &[u8]) -> Result<Action, Unreadable> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| Unreadable(format!("not a Standard Webhooks body: {e}")))?;
    let kind = match envelope.kind.as_str() {
        "product.updated" => Kind::ProductUpdated,
        "catalog.sync.requested" => Kind::SyncRequested,
        other => return Ok(Action::Ignore(format!("type {other:?} is not handled"))),
    };
    let data = envelope
        .data
        .ok_or_else(|| Unreadable(format!("a {} webhook needs its data", envelope.kind)))?;
    let data = data.get().as_bytes();
    let message_id = delivery_id("standard", header(headers, "webhook-id"));
    let invalid = |e: InvalidMessage| Unreadable(format!("{}: {}", envelope.kind, e.0));
    let product_id = match kind {
        Kind::ProductUpdated => Some(ProductUpdated::decode(data).map_err(invalid)?.product_id),
        Kind::SyncRequested => {
            SyncRequested::decode(data, message_id.as_deref()).map_err(invalid)?;
            None
        }
    };
    Ok(Action::Publish(Publication {
        kind,
        message_id,
        body: data.to_vec(),
        product_id,
    }))
}

#[cfg(test)]
mod tests;
