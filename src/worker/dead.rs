//! Dead letters: a message the worker gives up on goes to `catalog.sync.dead` with everything
//! needed to replay it by hand, in the message's trace, then is terminated so JetStream never
//! redelivers it.

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind};
use base64::Engine as _;
use serde::Serialize;
use std::collections::BTreeMap;
use tracing::{error, warn};

use crate::telemetry::{TraceContext, error_chain};

/// The `catalog.sync.dead` body.
#[derive(Debug, Serialize)]
struct DeadLetter<'a> {
    subject: &'a str,
    /// The original body, when it is UTF-8 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    /// The original body, base64, when it is not UTF-8 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    headers: BTreeMap<String, Vec<String>>,
    reason: &'a str,
    delivery_count: i64,
    stream_sequence: u64,
}

/// Publishes `message` to the dead-letter subject with `reason` and terminates it. If the dead
/// letter cannot be published, the message is left unacknowledged (it comes back after
/// `ack_wait`) rather than lost.
pub(super) async fn dead_letter(
    js: &jetstream::Context,
    dead_subject: &str,
    message: &jetstream::Message,
    reason: &str,
    cx: &TraceContext,
) {
    super::mark_span(Some(&format!("dead-lettered: {reason}")));
    let (delivery_count, stream_sequence) = message
        .info()
        .map(|i| (i.delivered, i.stream_sequence))
        .unwrap_or((0, 0));
    let text = std::str::from_utf8(&message.payload).ok();
    let letter = DeadLetter {
        subject: message.subject.as_str(),
        body: text,
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
        reason,
        delivery_count,
        stream_sequence,
    };
    let body = match serde_json::to_vec(&letter) {
        Ok(body) => body,
        Err(e) => {
            error!(error = %e, "could not encode a dead letter");
            return;
        }
    };
    let published = crate::bus::publish(js, dead_subject, HeaderMap::new(), body, cx)
        .await
        .map_err(|e| error_chain(&e));
    match published {
        Ok(_) => {
            crate::metrics::metrics().dead_lettered(message.subject.as_str());
            warn!(subject = %message.subject, stream_sequence, delivery_count, %reason, "message dead-lettered");
            if let Err(e) = message.ack_with(AckKind::Term).await {
                warn!(error = %error_chain(e.as_ref()), "could not terminate a dead-lettered message");
            }
        }
        Err(e) => {
            error!(error = %e, %reason, "could not publish a dead letter; the message will be redelivered")
        }
    }
}
