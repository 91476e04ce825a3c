//! Time as the simulated APIs speak it: the wall clock that stamps changes, the
//! "changed since" values clients send (RFC 3339, ISO 8601 without an offset, or Unix
//! seconds), and the timestamp formats of the WooCommerce and Shopify shapes.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// Milliseconds since the Unix epoch, now (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads a "changed since" value as milliseconds since the Unix epoch: RFC 3339
/// (`2025-03-01T10:00:00Z`, `...+02:00`), ISO 8601 without an offset (read as UTC, as
/// WooCommerce's `modified_after` is), a plain date (midnight UTC), or Unix seconds (`1740823200`,
/// fractions allowed). Times before 1970 read as 0. `None` if it is none of these.
pub(crate) fn parse_since(text: &str) -> Option<u64> {
    let text = text.trim();
    let millis = |ms: i64| u64::try_from(ms).unwrap_or(0);
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = text.parse().ok()?;
        return Some((seconds * 1000.0).floor() as u64);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(millis(time.timestamp_millis()));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(millis(time.and_utc().timestamp_millis()));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(millis(
        date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
    ))
}

fn utc(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or_default()
}

/// WooCommerce's `*_gmt` dates: UTC, whole seconds, no offset (`2025-04-30T09:41:02`).
pub(crate) fn woo_time(ms: u64) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Shopify's dates: RFC 3339 in the shop's time zone, here a fixed -05:00
/// (`2025-04-30T04:41:02-05:00`).
pub(crate) fn shopify_time(ms: u64) -> String {
    // A constant offset that is always in range; the fallback only keeps this total.
    match FixedOffset::west_opt(5 * 3600) {
        Some(zone) => utc(ms)
            .with_timezone(&zone)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        None => utc(ms).format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
    }
}

/// Reads an RFC 3339 time (a product's `meta.updatedAt`) as milliseconds since the epoch.
pub(crate) fn parse_rfc3339(text: &str) -> Option<u64> {
    let time = DateTime::parse_from_rfc3339(text.trim()).ok()?;
    u64::try_from(time.timestamp_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_values_read_in_every_documented_form() {
        let expected = 1_740_823_200_000;
        for text in [
            "2025-03-01T10:00:00Z",
            "2025-03-01T11:00:00+01:00",
            "2025-03-01T10:00:00",
            "2025-03-01 10:00:00",
            "2025-03-01T10:00:00.000",
            "1740823200",
            " 1740823200.0 ",
        ] {
            assert_eq!(parse_since(text), Some(expected), "{text}");
        }
        assert_eq!(parse_since("2025-03-01"), Some(1_740_787_200_000));
        assert_eq!(parse_since("2025-03-01T10:00:00.5Z"), Some(expected + 500));
        assert_eq!(parse_since("1969-12-31T00:00:00Z"), Some(0));
        for bad in ["", "yesterday", "2025-13-01", "1.2.3", "-5"] {
            assert_eq!(parse_since(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn shapes_format_times_their_own_way() {
        let ms = 1_746_006_062_053;
        assert_eq!(woo_time(ms), "2025-04-30T09:41:02");
        assert_eq!(shopify_time(ms), "2025-04-30T04:41:02-05:00");
        assert_eq!(parse_rfc3339("2025-04-30T09:41:02.053Z"), Some(ms));
        assert!(now_ms() > ms);
    }
}
