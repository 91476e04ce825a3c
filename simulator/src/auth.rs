//! HTTP Basic authentication of the product routes, for testing a client's credentials against
//! an upstream that demands them. Admin routes never ask for it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::server::message;

/// The credentials a product request must carry.
#[derive(Debug)]
pub(crate) struct BasicAuth {
    /// `user:password`, as the decoded header carries it.
    expected: Vec<u8>,
}

impl BasicAuth {
    pub(crate) fn new(user: &str, password: &str) -> BasicAuth {
        BasicAuth {
            expected: format!("{user}:{password}").into_bytes(),
        }
    }

    /// Whether `headers` carry `Authorization: Basic …` with the expected credentials. The
    /// scheme is case-insensitive (RFC 7617); anything malformed is simply not authorized.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("basic")
            && STANDARD
                .decode(credentials.trim())
                .is_ok_and(|decoded| decoded == self.expected)
    }
}

/// 401 with a `WWW-Authenticate` challenge, as a real upstream asks for credentials.
pub(crate) fn challenge() -> Response {
    let mut response = message(StatusCode::UNAUTHORIZED, "Authentication required");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"simulator\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn only_the_matching_credentials_pass() {
        let auth = BasicAuth::new("sync", "pa:ss");
        let good = STANDARD.encode("sync:pa:ss");
        assert!(auth.allows(&headers(&format!("Basic {good}"))));
        assert!(auth.allows(&headers(&format!("basic {good}"))));
        assert!(!auth.allows(&HeaderMap::new()));
        assert!(!auth.allows(&headers(&format!("Bearer {good}"))));
        assert!(!auth.allows(&headers(&format!("Basic {}", STANDARD.encode("sync:pass")))));
        assert!(!auth.allows(&headers("Basic !!!not-base64")));
        assert!(!auth.allows(&headers("Basic")));
    }
}
