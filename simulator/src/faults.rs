//! Misbehaviour on demand: scripted faults for the next requests, pages that always fail, and
//! DummyJSON's rate limit (a fixed window over all clients).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// A scripted fault, applied to one upcoming product request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with a JSON `{"message": ...}` body.
    Status(u16),
    /// Answer 429 with `Retry-After` in whole seconds (rounded up).
    TooManyRequests {
        /// How long the client is told to wait.
        retry_after: Duration,
    },
    /// Sleep this long, then answer normally (so a client with a shorter timeout times out).
    Hang(Duration),
    /// Declare the full `Content-Length`, send half of the body, then break the connection.
    Truncate,
}

/// The scripted faults and the pages that fail for good.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: VecDeque<Fault>,
    failing_pages: BTreeSet<u64>,
}

impl Faults {
    /// Queues `fault` for the next `n` requests (after those already queued).
    pub(crate) fn push(&mut self, n: usize, fault: Fault) {
        self.queue.extend(std::iter::repeat_n(fault, n));
    }

    /// The fault for the current request, if one is queued.
    pub(crate) fn pop(&mut self) -> Option<Fault> {
        self.queue.pop_front()
    }

    /// Makes every listing request with this `skip` answer 500.
    pub(crate) fn fail_page(&mut self, skip: u64) {
        self.failing_pages.insert(skip);
    }

    pub(crate) fn page_fails(&self, skip: u64) -> bool {
        self.failing_pages.contains(&skip)
    }

    /// Forgets every queued fault and failing page.
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.failing_pages.clear();
    }
}

/// At most `limit` requests per fixed `window`, shared by all clients.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    current: Mutex<(Instant, u32)>,
}

impl RateLimiter {
    /// The real DummyJSON limit: 100 requests per 10 seconds.
    pub(crate) fn dummyjson() -> RateLimiter {
        RateLimiter::new(100, Duration::from_secs(10))
    }

    pub(crate) fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            current: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Counts one request; over the limit, the time until the window resets.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, count) = &mut *current;
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

/// Whole seconds, rounded up: the value of a `Retry-After` header.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The body of `POST /__sim/faults`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FaultRequest {
    Status {
        status: u16,
        #[serde(default = "one")]
        count: usize,
    },
    TooManyRequests {
        retry_after_ms: u64,
        #[serde(default = "one")]
        count: usize,
    },
    Hang {
        ms: u64,
        #[serde(default = "one")]
        count: usize,
    },
    Truncate {
        #[serde(default = "one")]
        count: usize,
    },
    Page {
        skip: u64,
    },
}

fn one() -> usize {
    1
}

impl FaultRequest {
    /// Applies the request to the fault state.
    pub(crate) fn apply(self, faults: &mut Faults) {
        match self {
            FaultRequest::Status { status, count } => faults.push(count, Fault::Status(status)),
            FaultRequest::TooManyRequests {
                retry_after_ms,
                count,
            } => faults.push(
                count,
                Fault::TooManyRequests {
                    retry_after: Duration::from_millis(retry_after_ms),
                },
            ),
            FaultRequest::Hang { ms, count } => {
                faults.push(count, Fault::Hang(Duration::from_millis(ms)));
            }
            FaultRequest::Truncate { count } => faults.push(count, Fault::Truncate),
            FaultRequest::Page { skip } => faults.fail_page(skip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_come_out_in_fifo_order() {
        let mut faults = Faults::default();
        faults.push(2, Fault::Status(503));
        faults.push(1, Fault::Truncate);
        assert_eq!(faults.pop(), Some(Fault::Status(503)));
        assert_eq!(faults.pop(), Some(Fault::Status(503)));
        assert_eq!(faults.pop(), Some(Fault::Truncate));
        assert_eq!(faults.pop(), None);
        faults.fail_page(200);
        assert!(faults.page_fails(200));
        assert!(!faults.page_fails(0));
        faults.clear();
        assert!(!faults.page_fails(200));
    }

    #[test]
    fn rate_limiter_refuses_over_the_limit_until_the_window_ends() {
        let limiter = RateLimiter::new(2, Duration::from_millis(200));
        assert!(limiter.check().is_ok());
        assert!(limiter.check().is_ok());
        let wait = limiter
            .check()
            .expect_err("third request is over the limit");
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO);
        std::thread::sleep(Duration::from_millis(220));
        assert!(limiter.check().is_ok());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 0);
    }

    #[test]
    fn fault_requests_parse_like_the_admin_api_documents() {
        let mut faults = Faults::default();
        for body in [
            r#"{"kind":"status","status":500,"count":2}"#,
            r#"{"kind":"too_many_requests","retry_after_ms":1000,"count":1}"#,
            r#"{"kind":"hang","ms":5000,"count":1}"#,
            r#"{"kind":"truncate"}"#,
            r#"{"kind":"page","skip":200}"#,
        ] {
            let request: FaultRequest = serde_json::from_str(body).expect(body);
            request.apply(&mut faults);
        }
        let popped: Vec<Fault> = std::iter::from_fn(|| faults.pop()).collect();
        assert_eq!(
            popped,
            [
                Fault::Status(500),
                Fault::Status(500),
                Fault::TooManyRequests {
                    retry_after: Duration::from_secs(1)
                },
                Fault::Hang(Duration::from_secs(5)),
                Fault::Truncate,
            ]
        );
        assert!(faults.page_fails(200));
        assert!(serde_json::from_str::<FaultRequest>(r#"{"kind":"nope"}"#).is_err());
    }
}
