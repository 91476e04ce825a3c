//! `catalog.sync.requested`: ask for a full sync or a sync of given products.
//!
//! ```json
//! {"request_id": "nightly-2026-12-01", "mode": "products", "product_ids": [1, "sku-2"],
//!  "dry_run": false, "reason": "price fix", "requested_at": "2026-12-01T02:00:00Z"}
//! ```
//!
//! Every field is optional: `{}` is a full sync. `mode` is implied by `product_ids`; `"changes"`
//! asks for the products the source lists as changed since the last succeeded full sync. The
//! request id defaults to the message's `Nats-Msg-Id` when that is a valid request id
//! ([`check_request_id`]), then to a new UUID; an invalid one in the body refuses the request.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::InvalidMessage;
use crate::domain::ProductId;

/// Longest request id accepted.
pub const MAX_REQUEST_ID_CHARS: usize = 200;

/// The one rule for request ids, wherever one comes from (a message, `request --request-id`,
/// `sync --request-id`): 1 to 200 characters among letters, digits and `-` `.` `_` `~` `:` `@`,
/// the characters of product ids. Such an id is also a valid `Nats-Msg-Id` and reads the same
/// in a log line, a shell and `catalog-sync runs show`.
pub fn check_request_id(id: &str) -> Result<(), InvalidMessage> {
    if id.is_empty() {
        return Err(invalid("request id is empty"));
    }
    if id.chars().count() > MAX_REQUEST_ID_CHARS {
        return Err(InvalidMessage(format!(
            "request id is longer than {MAX_REQUEST_ID_CHARS} characters"
        )));
    }
    match id.chars().find(|c| !crate::domain::is_id_char(*c)) {
        Some(bad) => Err(InvalidMessage(format!(
            "request id {id:?} contains {bad:?}: request ids are letters, digits and - . _ ~ : @"
        ))),
        None => Ok(()),
    }
}

/// What a request asks to sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole catalog; products the upstream no longer has are archived.
    Full,
    /// These upstream product ids only.
    Products(Vec<String>),
    /// What the source lists as changed since the last succeeded full sync; never archives.
    Changes,
}

/// A decoded, valid sync request.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRequested {
    /// The request's id, from the body or the message id; `None` asks for a new one.
    pub request_id: Option<String>,
    pub scope: Scope,
    pub dry_run: bool,
    pub reason: Option<String>,
    /// When the request was made: a full sync requested before the start of a full sync that
    /// has since succeeded is answered `skipped`.
    pub requested_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_ids: Option<Vec<ProductId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_at: Option<DateTime<Utc>>,
}

impl SyncRequested {
    /// A full sync with the given request id.
    pub fn full(request_id: impl Into<String>) -> Self {
        SyncRequested {
            request_id: Some(request_id.into()),
            scope: Scope::Full,
            dry_run: false,
            reason: None,
            requested_at: None,
        }
    }

    /// A changes sync with the given request id.
    pub fn changes(request_id: impl Into<String>) -> Self {
        SyncRequested {
            scope: Scope::Changes,
            ..SyncRequested::full(request_id)
        }
    }

    /// The body to publish.
    pub fn encode(&self) -> Vec<u8> {
        let (mode, product_ids) = match &self.scope {
            Scope::Full => (None, None),
            Scope::Changes => (Some("changes".to_owned()), None),
            Scope::Products(ids) => (
                Some("products".to_owned()),
                Some(ids.iter().cloned().map(ProductId).collect()),
            ),
        };
        let wire = Wire {
            request_id: self.request_id.clone(),
            mode,
            product_ids,
            dry_run: Some(self.dry_run),
            reason: self.reason.clone(),
            requested_at: self.requested_at,
        };
        serde_json::to_vec(&wire).expect("a sync request always encodes")
    }

    /// Decodes a body; `message_id` is the message's `Nats-Msg-Id`, the default request id.
    pub fn decode(body: &[u8], message_id: Option<&str>) -> Result<Self, InvalidMessage> {
        let wire: Wire = serde_json::from_slice(body)
            .map_err(|e| InvalidMessage(format!("not a sync request: {e}")))?;
        let ids: Vec<String> = wire
            .product_ids
            .unwrap_or_default()
            .into_iter()
            .map(|id| id.0)
            .collect();
        let scope = match (wire.mode.as_deref(), ids.is_empty()) {
            (None | Some("full"), true) => Scope::Full,
            (Some("full"), false) => return Err(invalid("mode \"full\" takes no product_ids")),
            (None | Some("products"), false) => Scope::Products(ids),
            (Some("products"), true) => return Err(invalid("mode \"products\" needs product_ids")),
            (Some("changes"), true) => Scope::Changes,
            (Some("changes"), false) => {
                return Err(invalid("mode \"changes\" takes no product_ids"));
            }
            (Some(other), _) => {
                return Err(InvalidMessage(format!(
                    "unknown mode {other:?}: expected \"full\", \"products\" or \"changes\""
                )));
            }
        };
        // A blank request_id is an absent one. A message id is only a default: one that is no
        // request id leaves the request a new one.
        let request_id = match wire.request_id.filter(|id| !id.trim().is_empty()) {
            Some(id) => {
                check_request_id(&id)?;
                Some(id)
            }
            None => message_id
                .filter(|id| check_request_id(id).is_ok())
                .map(str::to_owned),
        };
        Ok(SyncRequested {
            request_id,
            scope,
            dry_run: wire.dry_run.unwrap_or(false),
            reason: wire.reason,
            requested_at: wire.requested_at,
        })
    }
}

fn invalid(reason: &str) -> InvalidMessage {
    InvalidMessage(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &[u8]) -> Result<SyncRequested, InvalidMessage> {
        SyncRequested::decode(body, None)
    }

    #[test]
    fn an_empty_object_is_a_full_sync() {
        let r = decode(b"{}").unwrap();
        assert_eq!(r.scope, Scope::Full);
        assert!(!r.dry_run);
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn request_id_comes_from_the_body_then_the_message_id() {
        let from_body = SyncRequested::decode(br#"{"request_id":"a"}"#, Some("b")).unwrap();
        assert_eq!(from_body.request_id.as_deref(), Some("a"));
        let from_header = SyncRequested::decode(b"{}", Some("b")).unwrap();
        assert_eq!(from_header.request_id.as_deref(), Some("b"));
        let blank = SyncRequested::decode(br#"{"request_id":" "}"#, None).unwrap();
        assert_eq!(blank.request_id, None);
        // A message id that is no request id is not taken for one.
        let odd = SyncRequested::decode(b"{}", Some("order #7")).unwrap();
        assert_eq!(odd.request_id, None);
    }

    #[test]
    fn request_ids_follow_one_rule() {
        for id in [
            "nightly-7",
            "scheduled-2026-12-01T02:00:00Z",
            "a.b_c~d@e",
            &"x".repeat(200),
        ] {
            assert_eq!(check_request_id(id), Ok(()), "{id}");
        }
        for (id, reason) in [
            ("", "empty"),
            ("a b/../c", "contains ' '"),
            ("a/b", "contains '/'"),
            ("é", "contains 'é'"),
            (&"x".repeat(201), "longer than 200"),
            (&"x".repeat(300), "longer than 200"),
        ] {
            let refused = check_request_id(id).unwrap_err();
            assert!(refused.0.contains(reason), "{id:?}: {refused}");
        }
    }

    #[test]
    fn product_ids_may_be_strings_or_numbers() {
        let r = decode(br#"{"mode":"products","product_ids":[1,"sku-2"],"dry_run":true}"#).unwrap();
        assert_eq!(r.scope, Scope::Products(vec!["1".into(), "sku-2".into()]));
        assert!(r.dry_run);
        let implied = decode(br#"{"product_ids":[3]}"#).unwrap();
        assert_eq!(implied.scope, Scope::Products(vec!["3".into()]));
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_request() {
        let requests = [
            SyncRequested::full("r-1"),
            SyncRequested::changes("every-5-minutes-10:05"),
            SyncRequested {
                request_id: Some("r-2".into()),
                scope: Scope::Products(vec!["7".into(), "sku-9".into()]),
                dry_run: true,
                reason: Some("price fix".into()),
                requested_at: Some("2026-12-01T02:00:00Z".parse().unwrap()),
            },
        ];
        for request in requests {
            assert_eq!(decode(&request.encode()).unwrap(), request);
        }
    }

    #[test]
    fn malformed_requests_say_why() {
        let long_id = format!(r#"{{"request_id":"{}"}}"#, "x".repeat(201));
        for (body, reason) in [
            (&b"not json"[..], "not a sync request"),
            (br#"{"mode":"everything"}"#, "unknown mode"),
            (br#"{"mode":"products"}"#, "needs product_ids"),
            (
                br#"{"mode":"full","product_ids":[1]}"#,
                "takes no product_ids",
            ),
            (
                br#"{"mode":"changes","product_ids":[1]}"#,
                "takes no product_ids",
            ),
            (br#"{"dry_run":"yes"}"#, "invalid type"),
            (br#"{"product_ids":[true]}"#, "product id"),
            (br#"{"product_ids":[".."]}"#, "path segment"),
            (br#"[]"#, "not a sync request"),
            (long_id.as_bytes(), "longer than 200"),
            (
                br#"{"request_id":"a b/../c"}"#,
                "request id \"a b/../c\" contains ' '",
            ),
        ] {
            let error = decode(body).unwrap_err();
            assert!(error.0.contains(reason), "{error} should mention {reason}");
        }
    }
}
