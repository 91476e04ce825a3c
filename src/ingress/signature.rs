//! Webhook signatures: HMAC-SHA256 over the raw bytes as they arrived, compared in constant time
//! by `ring` (which also refuses a tag of the wrong length, so an empty or truncated signature
//! never matches). Several secrets may be valid at once, for rotation.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ring::hmac;

/// How far a Standard Webhooks timestamp may be from our clock, either way.
pub const TIMESTAMP_TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

/// The secrets of one route, any of which signs a valid webhook.
#[derive(Clone)]
pub struct Secrets(Vec<hmac::Key>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} keys)", self.0.len())
    }
}

/// Why a webhook's signature was refused. Shown to the sender: it never says what the expected
/// signature is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("no {0} header")]
    Missing(&'static str),
    #[error("the {0} header does not match the body")]
    Mismatch(&'static str),
    #[error("webhook-timestamp {0} is not unix seconds")]
    BadTimestamp(String),
    #[error("webhook-timestamp is more than 5 minutes away from this server's clock")]
    OutOfWindow,
}

impl Secrets {
    /// Shopify's and WooCommerce's secrets: the text itself is the key. `value` is the
    /// variable's value, secrets separated by commas; spaces around each are not part of it.
    pub fn plain(variable: &str, value: &str) -> Result<Secrets, String> {
        Self::parse(variable, value, |s| Ok(s.as_bytes().to_vec()))
    }

    /// Standard Webhooks secrets: `whsec_` and the key in base64.
    pub fn standard(variable: &str, value: &str) -> Result<Secrets, String> {
        Self::parse(variable, value, |s| {
            let encoded = s.strip_prefix("whsec_").unwrap_or(s);
            match BASE64.decode(encoded) {
                Ok(key) if !key.is_empty() => Ok(key),
                _ => Err("is not a Standard Webhooks secret (whsec_ and the key in base64)".into()),
            }
        })
    }

    fn parse(
        variable: &str,
        value: &str,
        key: impl Fn(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Secrets, String> {
        let mut keys = Vec::new();
        for (n, part) in value.split(',').map(str::trim).enumerate() {
            if part.is_empty() {
                continue;
            }
            let bytes = key(part).map_err(|e| format!("{variable}: secret {} {e}", n + 1))?;
            keys.push(hmac::Key::new(hmac::HMAC_SHA256, &bytes));
        }
        if keys.is_empty() {
            return Err(format!("{variable} holds no secret"));
        }
        Ok(Secrets(keys))
    }

    /// Checks `header` (named `name`): the base64 HMAC-SHA256 of `body` under one of the secrets
    /// (Shopify's `X-Shopify-Hmac-Sha256`, WooCommerce's `X-WC-Webhook-Signature`).
    pub fn verify_base64(
        &self,
        name: &'static str,
        header: Option<&str>,
        body: &[u8],
    ) -> Result<(), Refused> {
        let header = header.ok_or(Refused::Missing(name))?;
        let tag = BASE64
            .decode(header.trim())
            .map_err(|_| Refused::Mismatch(name))?;
        self.matches(body, &tag).ok_or(Refused::Mismatch(name))
    }

    /// Checks a Standard Webhooks delivery: `webhook-signature` holds one or more
    /// space-separated `v1,<base64>` signatures of `<webhook-id>.<webhook-timestamp>.<body>`, one
    /// of which must match; the timestamp must be within 5 minutes of `now`.
    pub fn verify_standard(
        &self,
        id: Option<&str>,
        timestamp: Option<&str>,
        signatures: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), Refused> {
        let id = id.ok_or(Refused::Missing("webhook-id"))?;
        let timestamp = timestamp.ok_or(Refused::Missing("webhook-timestamp"))?;
        let signatures = signatures.ok_or(Refused::Missing("webhook-signature"))?;
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| Refused::BadTimestamp(timestamp.chars().take(40).collect()))?;
        let sent = DateTime::from_timestamp(seconds, 0).ok_or(Refused::OutOfWindow)?;
        if (now - sent).abs() > TIMESTAMP_TOLERANCE {
            return Err(Refused::OutOfWindow);
        }
        let mut signed = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
        signed.extend_from_slice(id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(timestamp.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        let matched = signatures
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| BASE64.decode(s).ok())
            .any(|tag| self.matches(&signed, &tag).is_some());
        matched
            .then_some(())
            .ok_or(Refused::Mismatch("webhook-signature"))
    }

    /// `Some` when `tag` is the HMAC of `data` under any of the secrets. Every secret is tried,
    /// so the time taken does not tell which one matched.
    fn matches(&self, data: &[u8], tag: &[u8]) -> Option<()> {
        let mut matched = false;
        for key in &self.0 {
            matched |= hmac::verify(key, data, tag).is_ok();
        }
        matched.then_some(())
    }
}

/// The base64 HMAC-SHA256 of `data` under `secret`: how a shop signs (for tests and tools).
pub fn sign_base64(secret: &[u8], data: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    BASE64.encode(hmac::sign(&key, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    /// The test vector published with the Standard Webhooks specification.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: &str = "1614265330";
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn spec(signature: &str, now: i64) -> Result<(), Refused> {
        Secrets::standard("STANDARD_WEBHOOK_SECRET", SPEC_SECRET)
            .unwrap()
            .verify_standard(
                Some(SPEC_ID),
                Some(SPEC_TIMESTAMP),
                Some(signature),
                SPEC_BODY,
                at(now),
            )
    }

    #[test]
    fn the_standard_webhooks_test_vector_verifies() {
        assert_eq!(spec(SPEC_SIGNATURE, 1614265330), Ok(()));
        // Several signatures, the valid one among them; other versions are skipped.
        let several = format!("v1a,abc v1,AAAA {SPEC_SIGNATURE}");
        assert_eq!(spec(&several, 1614265330), Ok(()));
    }

    #[test]
    fn empty_truncated_and_altered_signatures_are_refused() {
        let mismatch = Err(Refused::Mismatch("webhook-signature"));
        for bad in [
            "v1,",
            "v1",
            "",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSy",
            "v1,h0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            assert_eq!(spec(bad, 1614265330), mismatch, "{bad:?}");
        }
        let plain = Secrets::plain("SHOPIFY_WEBHOOK_SECRET", "s3cret").unwrap();
        let good = sign_base64(b"s3cret", b"{}");
        assert_eq!(plain.verify_base64("X", Some(&good), b"{}"), Ok(()));
        for bad in ["", "=", &good[..good.len() - 4], &good[..10], "not base64!"] {
            assert_eq!(
                plain.verify_base64("X", Some(bad), b"{}"),
                Err(Refused::Mismatch("X")),
                "{bad:?}"
            );
        }
        assert_eq!(
            plain.verify_base64("X", Some(&good), b"{} "),
            Err(Refused::Mismatch("X"))
        );
        assert_eq!(
            plain.verify_base64("X", None, b"{}"),
            Err(Refused::Missing("X"))
        );
    }

    #[test]
    fn the_timestamp_must_be_within_five_minutes_either_way() {
        let sent = 1614265330;
        assert_eq!(spec(SPEC_SIGNATURE, sent + 300), Ok(()));
        assert_eq!(spec(SPEC_SIGNATURE, sent - 300), Ok(()));
        assert_eq!(spec(SPEC_SIGNATURE, sent + 600), Err(Refused::OutOfWindow));
        assert_eq!(spec(SPEC_SIGNATURE, sent - 301), Err(Refused::OutOfWindow));
        let secrets = Secrets::standard("S", SPEC_SECRET).unwrap();
        let refused = secrets.verify_standard(
            Some(SPEC_ID),
            Some("yesterday"),
            Some(SPEC_SIGNATURE),
            SPEC_BODY,
            at(sent),
        );
        assert!(matches!(refused, Err(Refused::BadTimestamp(_))));
        let missing = secrets.verify_standard(None, Some(SPEC_TIMESTAMP), None, SPEC_BODY, at(0));
        assert_eq!(missing, Err(Refused::Missing("webhook-id")));
    }

    #[test]
    fn any_of_several_secrets_verifies_during_a_rotation() {
        let secrets = Secrets::plain("WOOCOMMERCE_WEBHOOK_SECRET", "new-one, old-one").unwrap();
        for secret in ["new-one", "old-one"] {
            let signature = sign_base64(secret.as_bytes(), b"body");
            assert_eq!(
                secrets.verify_base64("X", Some(&signature), b"body"),
                Ok(())
            );
        }
        let stranger = sign_base64(b"other", b"body");
        assert!(
            secrets
                .verify_base64("X", Some(&stranger), b"body")
                .is_err()
        );
    }

    #[test]
    fn secrets_that_cannot_be_used_name_their_variable() {
        let error = Secrets::plain("SHOPIFY_WEBHOOK_SECRET", " , ").unwrap_err();
        assert_eq!(error, "SHOPIFY_WEBHOOK_SECRET holds no secret");
        let error =
            Secrets::standard("STANDARD_WEBHOOK_SECRET", "whsec_ok0=,whsec_***").unwrap_err();
        assert!(
            error.starts_with("STANDARD_WEBHOOK_SECRET: secret 2 is not"),
            "{error}"
        );
        assert!(!error.contains("***"), "a secret is never shown: {error}");
    }
}
