//! `catalog.sync.dead`: a message the worker gave up on, with everything needed to replay it by
//! hand (subject, body, headers) and why.
//!
//! ```json
//! {"subject": "product.updated", "body": "{\"product_id\":\"..\"}", "headers": {},
//!  "reason": "product id \"..\" is a path segment", "delivery_count": 1, "stream_sequence": 42}
//! ```
//!
//! `body` holds a UTF-8 body as text; any other body is in `body_base64` instead.

use std::collections::BTreeMap;

use async_nats::jetstream;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::InvalidMessage;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub subject: String,
    /// The original body, when it is UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The original body, base64, when it is not UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub headers: BTreeMap<String, Vec<String>>,
    pub reason: String,
    pub delivery_count: i64,
    pub stream_sequence: u64,
    /// The body was cut so the dead letter fits the server's largest message; `body` (or
    /// `body_base64`) holds its beginning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

impl DeadLetter {
    /// The dead letter of a JetStream message.
    pub fn of(message: &jetstream::Message, reason: &str) -> Self {
        let (delivery_count, stream_sequence) = message
            .info()
            .map(|i| (i.delivered, i.stream_sequence))
            .unwrap_or((0, 0));
        let text = std::str::from_utf8(&message.payload).ok();
        DeadLetter {
            subject: message.subject.to_string(),
            body: text.map(str::to_owned),
            body_base64: text
                .is_none()
                .then(|| base64::engine::general_purpose::STANDARD.encode(&message.payload)),
            headers: message
                .headers
                .iter()
                .flat_map(|h| h.iter())
                .map(|(name, values)| {
                    (
                        name.to_string(),
                        values.iter().map(|v| v.as_str().to_owned()).collect(),
                    )
                })
                .collect(),
            reason: reason.to_owned(),
            delivery_count,
            stream_sequence,
            body_truncated: false,
        }
    }

    /// The letter cut to encode in at most `max_bytes` (the server's largest message): the
    /// copied body is shortened, and marked so, when the whole letter would not fit.
    pub fn fit(mut self, max_bytes: usize) -> Self {
        // Headers and envelope first: what is left is the body's room, escapes included.
        loop {
            let size = self.encode().len();
            if size <= max_bytes {
                return self;
            }
            let over = size - max_bytes;
            self.body_truncated = true;
            if let Some(body) = &mut self.body {
                // Escaping makes the encoded body larger than the text: shrink it in
                // proportion to what its encoding may take.
                let encoded = serde_json::to_string(body).map_or(body.len(), |e| e.len());
                let room = encoded.saturating_sub(over);
                let keep = (body.len() as f64 * room as f64 / encoded as f64 * 0.95) as usize;
                let mut cut = keep.min(body.len().saturating_sub(1));
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
                if body.is_empty() {
                    self.body = None;
                }
            } else if let Some(encoded) = &mut self.body_base64 {
                let keep = encoded.len().saturating_sub(over.max(16)) / 4 * 4;
                encoded.truncate(keep);
                if encoded.is_empty() {
                    self.body_base64 = None;
                }
            } else {
                // Nothing left to cut but the headers.
                self.headers.clear();
                return self;
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a dead letter always encodes")
    }

    pub fn decode(body: &[u8]) -> Result<Self, InvalidMessage> {
        serde_json::from_slice(body).map_err(|e| InvalidMessage(format!("not a dead letter: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_is_cut_to_fit_the_largest_message() {
        let letter = DeadLetter {
            subject: "product.updated".into(),
            body: Some("é\"x".repeat(100_000)),
            body_base64: None,
            headers: BTreeMap::from([("Nats-Msg-Id".into(), vec!["m-1".into()])]),
            reason: "too large".into(),
            delivery_count: 1,
            stream_sequence: 9,
            body_truncated: false,
        };
        let whole = letter.clone().fit(10_000_000);
        assert!(!whole.body_truncated, "it fits: left whole");
        let cut = letter.fit(64 * 1024);
        assert!(cut.encode().len() <= 64 * 1024);
        assert!(cut.body_truncated);
        assert!(cut.body.as_ref().unwrap().starts_with("é\"xé"));
        assert_eq!(DeadLetter::decode(&cut.encode()).unwrap(), cut);
    }

    #[test]
    fn dead_letters_round_trip() {
        let letter = DeadLetter {
            subject: "product.updated".into(),
            body: None,
            body_base64: Some(base64::engine::general_purpose::STANDARD.encode([0xff, 0x00])),
            headers: BTreeMap::from([("Nats-Msg-Id".into(), vec!["x".into()])]),
            reason: "not a product event".into(),
            delivery_count: 1,
            stream_sequence: 9,
            body_truncated: false,
        };
        let decoded = DeadLetter::decode(&letter.encode()).unwrap();
        assert_eq!(decoded, letter);
        let json: serde_json::Value = serde_json::from_slice(&letter.encode()).unwrap();
        assert!(json.get("body").is_none(), "absent fields are left out");
    }
}
