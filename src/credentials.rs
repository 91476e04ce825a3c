//! Credentials that arrive inside URLs (`http://user:password@host`). They are honoured, taken
//! out of the URL before it is used anywhere, and the URL is shown only in its redacted form,
//! `REDACTED:REDACTED@host` (OpenTelemetry's rule for `url.full`): in help text, logs, traces,
//! errors and run records alike.

use std::ffi::OsStr;

use percent_encoding::percent_decode_str;
use reqwest::Url;

use crate::settings::Secret;

/// What replaces the user info of a URL that is shown.
const REDACTED: &str = "REDACTED";

/// User name and password taken out of a URL (percent-decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub user: String,
    /// Absent for `scheme://token@host`, which some servers read as a token.
    pub password: Option<Secret>,
}

/// Removes the user info from `url` and returns it, if there was any.
pub fn take_user_info(url: &mut Url) -> Option<UserInfo> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let info = UserInfo {
        user: decode(url.username()),
        password: url.password().map(|p| Secret::new(decode(p))),
    };
    // Only URLs that cannot have user info (`mailto:`) refuse this; ours always can.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(info)
}

/// `url` as it may be shown: user info replaced by `REDACTED:REDACTED`.
pub fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let _ = shown.set_username(REDACTED);
    let _ = shown.set_password(Some(REDACTED));
    shown.to_string()
}

/// A URL setting as it may be shown: one URL or a comma-separated list of them (`NATS_URL`),
/// each written with a scheme or without (`nats://user:password@host`, `user:password@host`,
/// `token@host`), percent-encoded or not, with every user info replaced by
/// `REDACTED:REDACTED`. Values that are no URL at all (a refused setting) are redacted too,
/// erring on the side of hiding: a user info runs from its URL's `scheme://` (or start) to the
/// last `@` before the URL's path, and a password with a raw `,` or `/` in it, which no URL
/// parser reads, is hidden whole.
pub fn redact_urls(value: &str) -> String {
    let elements: Vec<&str> = value.split(',').collect();
    let mut shown = Vec::with_capacity(elements.len());
    let mut i = 0;
    while i < elements.len() {
        let mut url = elements[i].to_owned();
        i += 1;
        // A comma in a password splits its URL: the pieces go back together while the one so
        // far is no server address on its own and the next has no scheme of its own.
        while i < elements.len()
            && !url.contains('@')
            && !elements[i].contains("://")
            && !is_address(&url)
        {
            url.push(',');
            url.push_str(elements[i]);
            i += 1;
        }
        shown.push(redact_one(&url));
    }
    shown.join(",")
}

/// One URL with its user info, if it has any, redacted.
fn redact_one(url: &str) -> String {
    let start = url.find("://").map_or(0, |scheme_end| scheme_end + 3);
    let user_end = url[start..]
        .rmatch_indices('@')
        .map(|(at, _)| start + at)
        .find(|&at| in_authority(&url[start..at]));
    match user_end {
        Some(at) => format!("{}{REDACTED}:{REDACTED}{}", &url[..start], &url[at..]),
        None => url.to_owned(),
    }
}

/// Whether `text`, the part of a URL from its authority to an `@`, may be user info: it has no
/// `/`, `?` or `#`, or a URL parser does not read it as a host and a path (`user:pa/ss`).
fn in_authority(text: &str) -> bool {
    !text.contains(['/', '?', '#']) || Url::parse(&format!("x://{text}")).is_err()
}

/// Whether `url` (a scheme optional) reads as a server address without user info.
fn is_address(url: &str) -> bool {
    let rest = url
        .find("://")
        .map_or(url, |scheme_end| &url[scheme_end + 3..]);
    Url::parse(&format!("x://{}", rest.trim())).is_ok()
}

/// Whether `text` begins with `scheme://`, that is whether what a URL parser read as the scheme
/// of `text` was written as one, and not a user name before a password (`user:password@host`),
/// which an error must not echo.
pub fn written_with_scheme(text: &str, scheme: &str) -> bool {
    let text = text.trim_start();
    text.get(..scheme.len())
        .is_some_and(|written| written.eq_ignore_ascii_case(scheme))
        && text[scheme.len()..].starts_with("://")
}

/// Whether an environment value holds a URL with user info (so `--help` must not print it).
pub fn has_user_info(value: &OsStr) -> bool {
    let text = value.to_string_lossy();
    redact_urls(&text) != text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_taken_out_and_decoded() {
        let mut url = Url::parse("http://cat%40shop:p%3Ass@127.0.0.1:8090/products").unwrap();
        let info = take_user_info(&mut url).unwrap();
        assert_eq!(info.user, "cat@shop");
        assert_eq!(info.password.unwrap().expose(), "p:ss");
        assert_eq!(url.as_str(), "http://127.0.0.1:8090/products");
        assert_eq!(take_user_info(&mut url), None);
        let mut token = Url::parse("nats://s3cr3t@127.0.0.1:4222").unwrap();
        let info = take_user_info(&mut token).unwrap();
        assert_eq!((info.user.as_str(), info.password), ("s3cr3t", None));
    }

    #[test]
    fn shown_urls_are_redacted() {
        let url = Url::parse("https://u:hunter2@shop.example/api?limit=1").unwrap();
        assert_eq!(
            redact(&url),
            "https://REDACTED:REDACTED@shop.example/api?limit=1"
        );
        let plain = Url::parse("https://shop.example/api").unwrap();
        assert_eq!(redact(&plain), "https://shop.example/api");
    }

    #[test]
    fn url_settings_are_redacted_in_every_form_they_are_written() {
        let r = "REDACTED:REDACTED@";
        for (written, shown) in [
            ("nats://a:b@h1:4222", format!("nats://{r}h1:4222")),
            ("natsuser:natsSECRET@127.0.0.1:1", format!("{r}127.0.0.1:1")),
            (
                "nats://s3cr3t@127.0.0.1:4222",
                format!("nats://{r}127.0.0.1:4222"),
            ),
            ("s3cr3t@127.0.0.1:4222", format!("{r}127.0.0.1:4222")),
            (
                "nats://a:b@h1:4222,nats://h2:4222,c:d@h3",
                format!("nats://{r}h1:4222,nats://h2:4222,{r}h3"),
            ),
            ("nats://us%40er:p%3Ass@h:4222", format!("nats://{r}h:4222")),
            ("nats://user:p@ss@h", format!("nats://{r}h")),
            ("nats://user:pa/ss@h:4222", format!("nats://{r}h:4222")),
            ("nats://user:pa,ss@h:4222", format!("nats://{r}h:4222")),
            ("nats://user:pa?ss@h", format!("nats://{r}h")),
            (
                "user:SECRET@127.0.0.1/products",
                format!("{r}127.0.0.1/products"),
            ),
            (
                "https://u:p@shop.example/p?next=a@b",
                format!("https://{r}shop.example/p?next=a@b"),
            ),
            (
                "postgres://u:p@db:5432/catalog?sslmode=disable",
                format!("postgres://{r}db:5432/catalog?sslmode=disable"),
            ),
            ("ftp://x@y/z", format!("ftp://{r}y/z")),
        ] {
            let redacted = redact_urls(written);
            assert_eq!(redacted, shown, "{written}");
        }
        for plain in [
            "nats://127.0.0.1:4222",
            "nats://h1:4222,nats://h2:4222",
            "127.0.0.1:4222",
            "https://shop.example/products/sku@eu",
            "no url here",
        ] {
            assert_eq!(redact_urls(plain), plain);
        }
        assert!(has_user_info(OsStr::new("postgres://u:p@db/catalog")));
        assert!(has_user_info(OsStr::new("u:p@db:4222")));
        // `token@host` is how a NATS token is written without a scheme.
        assert!(has_user_info(OsStr::new("token@example.com")));
        assert!(!has_user_info(OsStr::new("postgres://db/catalog")));
    }
}
