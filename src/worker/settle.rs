//! The one acknowledgement decision of both consumers: how a message's work ended, and how many
//! times it was delivered, decide whether it is acknowledged, delivered again later, handed
//! back at once, or dead-lettered. [`decide`] is pure; [`Settler`] carries the decision out.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind};
use tracing::{error, warn};

use crate::messages::DeadLetter;
use crate::telemetry::{TraceContext, error_chain};

/// What becomes of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Done: never deliver it again.
    Ack,
    /// Deliver it again after this delay.
    Nak(Duration),
    /// Give up on it: publish it to the dead-letter subject with this reason, then terminate it.
    DeadLetter(String),
    /// Not done, through no fault of its own (shutdown): deliver it again now, to any replica.
    HandBack,
}

/// How the work of a message ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The work is committed and its summary published.
    Done,
    /// The work is committed but its summary could not be published: deliver it again so the
    /// summary is (the run record answers it without doing the work twice).
    Unannounced,
    /// A shutdown interrupted the work.
    Interrupted,
    /// The work failed; `retryable` when trying again later may succeed.
    Failed { error: String, retryable: bool },
    /// The message itself is unusable (malformed, too large): it will never succeed.
    Refused(String),
}

/// The decision for a message delivered `delivered` times (1 the first time) by a consumer that
/// delivers at most `max_deliver` times (0 or less: no limit).
pub fn decide(outcome: Outcome, delivered: i64, max_deliver: i64) -> Settle {
    let deliveries_left = max_deliver <= 0 || delivered < max_deliver;
    match outcome {
        Outcome::Done => Settle::Ack,
        Outcome::Unannounced => Settle::Nak(backoff(delivered)),
        Outcome::Interrupted => Settle::HandBack,
        Outcome::Failed {
            retryable: true, ..
        } if deliveries_left => Settle::Nak(backoff(delivered)),
        Outcome::Failed { error, .. } => Settle::DeadLetter(format!(
            "gave up after {delivered} {}: {error}",
            if delivered == 1 {
                "delivery"
            } else {
                "deliveries"
            }
        )),
        Outcome::Refused(reason) => Settle::DeadLetter(reason),
    }
}

/// The delay before delivery `delivered + 1`: 2 s, 4 s, 8 s … up to a minute.
pub fn backoff(delivered: i64) -> Duration {
    Duration::from_secs(2u64.saturating_pow(delivered.clamp(1, 6) as u32))
        .min(Duration::from_secs(60))
}

/// How many times JetStream delivered `message` (1 the first time).
pub fn delivered(message: &jetstream::Message) -> i64 {
    message.info().map(|i| i.delivered).unwrap_or(1)
}

/// Carries decisions out on JetStream.
pub struct Settler<'a> {
    pub js: &'a jetstream::Context,
    /// Where dead letters go.
    pub dead_subject: &'a str,
    /// The largest message the server takes: a dead letter's copied body is cut to fit it.
    pub max_payload: usize,
}

impl Settler<'_> {
    /// Settles `message` in the trace `cx`. `confirm` waits for the server to confirm an ack
    /// (for a request, whose redelivery would cost a run); events are acked without waiting.
    pub async fn settle(
        &self,
        message: &jetstream::Message,
        settle: Settle,
        cx: &TraceContext,
        confirm: bool,
    ) {
        let result = match settle {
            Settle::Ack if confirm => message.double_ack().await,
            Settle::Ack => message.ack().await,
            Settle::Nak(delay) => message.ack_with(AckKind::Nak(Some(delay))).await,
            Settle::HandBack => message.ack_with(AckKind::Nak(None)).await,
            Settle::DeadLetter(reason) => return self.dead_letter(message, &reason, cx).await,
        };
        if let Err(e) = result {
            warn!(error = %error_chain(e.as_ref()), subject = %message.subject, "could not settle a message; JetStream delivers it again after ack_wait");
        }
    }

    /// Publishes `message` to the dead-letter subject with `reason` and terminates it. If the
    /// dead letter cannot be published, the message is left unacknowledged (it comes back after
    /// `ack_wait`) rather than lost.
    async fn dead_letter(&self, message: &jetstream::Message, reason: &str, cx: &TraceContext) {
        super::spans::mark_span(Some(&format!("dead-lettered: {reason}")));
        let letter = DeadLetter::of(message, reason).fit(self.max_payload);
        let published = crate::bus::publish(
            self.js,
            self.dead_subject,
            HeaderMap::new(),
            letter.encode(),
            cx,
        )
        .await;
        match published {
            Ok(_) => {
                crate::metrics::metrics().dead_lettered(message.subject.as_str());
                warn!(subject = %message.subject, stream_sequence = letter.stream_sequence, delivery_count = letter.delivery_count, %reason, "message dead-lettered");
                if let Err(e) = message.ack_with(AckKind::Term).await {
                    warn!(error = %error_chain(e.as_ref()), "could not terminate a dead-lettered message");
                }
            }
            Err(e) => {
                error!(error = %error_chain(&e), %reason, "could not publish a dead letter; the message will be redelivered")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(retryable: bool) -> Outcome {
        Outcome::Failed {
            error: "upstream 503".into(),
            retryable,
        }
    }

    #[test]
    fn finished_work_is_acked_and_interrupted_work_handed_back() {
        assert_eq!(decide(Outcome::Done, 1, 5), Settle::Ack);
        assert_eq!(decide(Outcome::Done, 5, 5), Settle::Ack);
        assert_eq!(decide(Outcome::Interrupted, 1, 5), Settle::HandBack);
        assert_eq!(decide(Outcome::Interrupted, 5, 5), Settle::HandBack);
    }

    #[test]
    fn retryable_failures_come_back_later_until_the_last_delivery() {
        assert_eq!(
            decide(failed(true), 1, 5),
            Settle::Nak(Duration::from_secs(2))
        );
        assert_eq!(
            decide(failed(true), 4, 5),
            Settle::Nak(Duration::from_secs(16))
        );
        assert_eq!(
            decide(failed(true), 5, 5),
            Settle::DeadLetter("gave up after 5 deliveries: upstream 503".into())
        );
        assert_eq!(
            decide(failed(true), 40, 0),
            Settle::Nak(Duration::from_secs(60)),
            "no limit"
        );
    }

    #[test]
    fn lasting_failures_and_refused_messages_are_dead_lettered_at_once() {
        assert_eq!(
            decide(failed(false), 1, 5),
            Settle::DeadLetter("gave up after 1 delivery: upstream 503".into())
        );
        assert_eq!(
            decide(Outcome::Refused("not a sync request".into()), 1, 5),
            Settle::DeadLetter("not a sync request".into())
        );
    }

    #[test]
    fn an_unannounced_run_is_delivered_again_for_its_summary() {
        assert_eq!(
            decide(Outcome::Unannounced, 1, 5),
            Settle::Nak(Duration::from_secs(2))
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let delays: Vec<u64> = (0..9).map(|d| backoff(d).as_secs()).collect();
        assert_eq!(delays, [2, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
