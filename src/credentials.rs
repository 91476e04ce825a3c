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

/// `text` with the user info of anything URL-like in it redacted, for values that may not even
/// parse as URLs (an error message quoting a bad setting).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(['/', '?', '#', ' ', ',', '"', '\''])
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(user_end) => {
                out.push_str(REDACTED);
                out.push(':');
                out.push_str(REDACTED);
                out.push_str(&tail[user_end..authority_end]);
            }
            None => out.push_str(&tail[..authority_end]),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Whether an environment value holds a URL with user info (so `--help` must not print it).
pub fn has_user_info(value: &OsStr) -> bool {
    let text = value.to_string_lossy();
    redact_text(&text) != text
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
    fn text_with_urls_is_redacted() {
        assert_eq!(
            redact_text("nats://a:b@h1:4222,nats://h2:4222 and ftp://x@y/z"),
            "nats://REDACTED:REDACTED@h1:4222,nats://h2:4222 and ftp://REDACTED:REDACTED@y/z"
        );
        assert_eq!(redact_text("no url here"), "no url here");
        assert!(has_user_info(OsStr::new("postgres://u:p@db/catalog")));
        assert!(!has_user_info(OsStr::new("postgres://db/catalog")));
        assert!(!has_user_info(OsStr::new("user@example.com")));
    }
}
