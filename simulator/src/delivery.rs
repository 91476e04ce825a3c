//! How a product answer leaves: the scripted byte rewrites of a broken encoder, compression
//! (when asked with `Accept-Encoding`, or always, like an upstream that compresses unasked),
//! and truncation.

use std::io::Write as _;
use std::str::FromStr;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::server::{json_response, message};

/// A content coding the simulator can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Deflate,
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
        }
    }

    fn compress(self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(body)?;
                encoder.finish()
            }
            // HTTP's "deflate" is the zlib format (RFC 9110, 8.4.1.2).
            Encoding::Deflate => {
                let mut encoder =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(body)?;
                encoder.finish()
            }
            Encoding::Brotli => {
                let mut out = Vec::new();
                {
                    let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
                    encoder.write_all(body)?;
                }
                Ok(out)
            }
        }
    }
}

impl FromStr for Encoding {
    type Err = String;

    fn from_str(text: &str) -> Result<Encoding, String> {
        match text {
            "gzip" => Ok(Encoding::Gzip),
            "deflate" => Ok(Encoding::Deflate),
            "br" => Ok(Encoding::Brotli),
            other => Err(format!("{other:?}: expected gzip, deflate or br")),
        }
    }
}

/// Compression of product answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression {
    pub encoding: Encoding,
    /// Compress even when the request's `Accept-Encoding` does not ask for it.
    pub unasked: bool,
}

impl Compression {
    /// The coding to answer `request` with, if any.
    pub(crate) fn for_request(&self, request: &HeaderMap) -> Option<Encoding> {
        let asked = request
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|coding| {
                let mut parts = coding.split(';');
                let name = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
                name.eq_ignore_ascii_case(self.encoding.token()) && !refused
            });
        (asked || self.unasked).then_some(self.encoding)
    }
}

/// What the misbehaviour pipeline decided for one product answer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Delivery {
    /// Send half of the body, then break the connection.
    pub truncate: bool,
    pub encoding: Option<Encoding>,
    /// `(from, to)` byte strings replaced in the body, in order.
    pub rewrites: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Delivery {
    /// The answer: rewritten, compressed, and cut short as decided.
    pub(crate) fn respond(self, status: StatusCode, mut body: Vec<u8>) -> Response {
        for (from, to) in &self.rewrites {
            body = replace(&body, from, to);
        }
        let Some(encoding) = self.encoding else {
            return json_response(status, body, self.truncate);
        };
        match encoding.compress(&body) {
            Ok(compressed) => {
                let mut response = json_response(status, compressed, self.truncate);
                response.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(encoding.token()),
                );
                response
            }
            Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        }
    }
}

/// `body` with every `from` replaced by `to`.
fn replace(body: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return body.to_vec();
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_replace_every_occurrence_byte_for_byte() {
        assert_eq!(replace(b"a@x@b@x@", b"@x@", b"\xff"), b"a\xffb\xff");
        assert_eq!(replace(b"abc", b"", b"z"), b"abc");
    }

    #[test]
    fn compression_follows_accept_encoding_unless_unasked() {
        let asked = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            headers
        };
        let gzip = Compression {
            encoding: Encoding::Gzip,
            unasked: false,
        };
        assert_eq!(gzip.for_request(&asked("gzip, br")), Some(Encoding::Gzip));
        assert_eq!(gzip.for_request(&asked("br")), None);
        assert_eq!(gzip.for_request(&asked("gzip;q=0")), None);
        assert_eq!(gzip.for_request(&HeaderMap::new()), None);
        let always = Compression {
            unasked: true,
            ..gzip
        };
        assert_eq!(always.for_request(&HeaderMap::new()), Some(Encoding::Gzip));
    }
}
