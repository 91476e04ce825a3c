//! A configurable rate limit as a sliding window: at most `limit` requests in any interval of
//! `window`, over all clients and all product routes. Unlike DummyJSON's fixed window (see
//! [`super::faults::RateLimiter`]), a burst at a window's edge cannot double the rate, so a
//! client that paces itself to the quota never sees a 429.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The times of the requests admitted within the last `window`.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: u32,
    window: Duration,
    /// Bounded by `limit`: a refused request is not recorded.
    admitted: Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: u32, window: Duration) -> SlidingWindow {
        SlidingWindow {
            limit,
            window,
            admitted: Mutex::new(VecDeque::with_capacity(limit.min(4096) as usize)),
        }
    }

    /// Admits one request now, or says how long until one more would be admitted.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), Duration> {
        let mut admitted = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        while admitted
            .front()
            .is_some_and(|&at| now.duration_since(at) >= self.window)
        {
            admitted.pop_front();
        }
        if admitted.len() < self.limit as usize {
            admitted.push_back(now);
            return Ok(());
        }
        // The oldest admitted request leaves the window first.
        let oldest = admitted.front().copied().unwrap_or(now);
        Err(self.window.saturating_sub(now.duration_since(oldest)))
    }
}

/// Reads `N/DURATION` (`20/2s`, `100/10s`, `5/500ms`, `60/1m`; a bare number is seconds).
pub(crate) fn parse_quota(text: &str) -> Result<(u32, Duration), String> {
    let usage = || format!("'{text}' is not N/DURATION, e.g. 20/2s or 100/10s");
    let (count, window) = text.trim().split_once('/').ok_or_else(usage)?;
    let count: u32 = count.trim().parse().map_err(|_| usage())?;
    let window = window.trim();
    let split = window
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(window.len());
    let (number, unit) = window.split_at(split);
    let number: f64 = number.parse().map_err(|_| usage())?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(usage()),
    };
    if count == 0 || !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!(
            "'{text}': the count and the duration must be positive"
        ));
    }
    Ok((count, Duration::from_secs_f64(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_limit_requests_in_any_window() {
        let limiter = SlidingWindow::new(3, Duration::from_secs(2));
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert!(limiter.check_at(at(0)).is_ok());
        assert!(limiter.check_at(at(1500)).is_ok());
        assert!(limiter.check_at(at(1900)).is_ok());
        assert_eq!(limiter.check_at(at(1950)), Err(Duration::from_millis(50)));
        // A fixed window would reset at 2 s and admit three more at once.
        assert!(limiter.check_at(at(2000)).is_ok(), "the first one left");
        assert_eq!(limiter.check_at(at(2100)), Err(Duration::from_millis(1400)));
        assert!(limiter.check_at(at(3500)).is_ok());
    }

    #[test]
    fn quotas_parse_with_units() {
        assert_eq!(parse_quota("20/2s"), Ok((20, Duration::from_secs(2))));
        assert_eq!(parse_quota("100/10"), Ok((100, Duration::from_secs(10))));
        assert_eq!(parse_quota("5/500ms"), Ok((5, Duration::from_millis(500))));
        assert_eq!(parse_quota(" 60 / 1m "), Ok((60, Duration::from_secs(60))));
        assert_eq!(parse_quota("1/1.5s"), Ok((1, Duration::from_millis(1500))));
        for bad in ["20", "0/1s", "5/0s", "x/1s", "5/1d", "5/s"] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
    }
}
