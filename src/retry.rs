//! The one backoff policy of the service: exponential from `min` to `max`, with full jitter, for
//! a bounded number of retries. Upstream requests, Medusa requests, batch writes and JetStream
//! set-up each retry with it, with their own bounds.

use std::time::Duration;

use backon::ExponentialBuilder;

/// Delays that double from `min` up to `max`, jittered, for at most `retries` retries.
pub fn backoff(min: Duration, max: Duration, retries: usize) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_max_times(retries)
        .with_jitter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder as _;

    #[test]
    fn delays_are_bounded_in_number_and_length() {
        let delays: Vec<Duration> =
            backoff(Duration::from_millis(10), Duration::from_millis(40), 5)
                .build()
                .collect();
        assert_eq!(delays.len(), 5);
        // Jitter adds up to one more delay's length on top of each.
        assert!(
            delays.iter().all(|d| *d <= Duration::from_millis(80)),
            "{delays:?}"
        );
    }
}
