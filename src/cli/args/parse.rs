//! Value parsers of the command line: each refuses a bad value with a reason, and clap names the
//! variable (every flag's value name is its variable).

use std::time::Duration;

use reqwest::Url;

/// Parses an http(s) URL like [`parse_http_url`]; a refused value is quoted redacted in the
/// error, since it may carry a password.
#[derive(Clone, Copy, Debug)]
pub struct HttpUrlParser;

impl clap::builder::TypedValueParser for HttpUrlParser {
    type Value = Url;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Url, clap::Error> {
        let text = value.to_string_lossy();
        parse_http_url(&text).map_err(|reason| {
            let name = arg.map(ToString::to_string).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "invalid value '{}' for '{name}': {reason}\n",
                    crate::credentials::redact_urls(&text)
                ),
            )
            .with_cmd(cmd)
        })
    }
}

/// An absolute http(s) URL with a host.
pub fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        // In `user:password@host` the parser takes the user for a scheme: not to be echoed.
        if !crate::credentials::written_with_scheme(s, url.scheme()) {
            return Err("must start with http:// or https://".into());
        }
        return Err(format!(
            "scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(url)
}

/// A source file, read and checked now, so a bad one stops the command at start-up with the
/// file, the key and the problem named.
pub fn parse_source(s: &str) -> Result<crate::source::Source, String> {
    crate::source::Source::load(std::path::Path::new(s)).map_err(|e| e.to_string())
}

/// A duration like `500ms`, `5s` or `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 5s, 2m)"))
}

/// At least ten seconds: heartbeats come every two, and a busy database may delay a few.
pub fn parse_stale_after(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(10) {
        return Err("must be at least 10s".into());
    }
    Ok(d)
}

pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let ratio: f64 = s.parse().map_err(|_| "not a number".to_owned())?;
    if (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err("must be between 0 and 1".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_http_url("http://127.0.0.1:8090/products").is_ok());
        assert!(parse_http_url("ftp://example.com/x").is_err());
        assert!(parse_http_url("not a url").is_err());
        let refused = parse_http_url("user:SECRET@127.0.0.1/products").unwrap_err();
        assert!(
            refused.contains("http://") && !refused.contains("user"),
            "{refused}"
        );
    }

    #[test]
    fn durations_and_ratios_are_checked() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_ratio("0.2"), Ok(0.2));
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_stale_after("5s").is_err());
        assert_eq!(parse_stale_after("2m"), Ok(Duration::from_secs(120)));
    }
}
