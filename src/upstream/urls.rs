//! URLs with a product id in them: the id is data, one escaped path segment, never a way to
//! send a request (and the source's credentials) to another origin.

use reqwest::Url;

use super::UpstreamError;

/// The URL of `template` for product `id`: the id percent-encoded into the path segment where
/// `{id}` stands, then `query`. Whatever the id, the request goes to the origin (scheme, host
/// and port) of the template as written, braces and all: an id that would send it, and the
/// source's credentials with it, anywhere else is refused.
pub(super) fn id_url(
    template: &str,
    id: &str,
    query: &[(String, String)],
) -> Result<Url, UpstreamError> {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    /// What may not stand raw in one path segment (RFC 3986 `pchar` keeps the rest).
    const SEGMENT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    let encoded = utf8_percent_encode(id, SEGMENT).to_string();
    let mut url = Url::parse(&template.replace("{id}", &encoded))
        .map_err(|_| UpstreamError::Config("the item URL with the product id is not a URL"))?;
    // No id has braces, so an `{id}` in the host makes every id's origin differ.
    let origin = Url::parse(template).map(|t| t.origin());
    if origin.as_ref().ok() != Some(&url.origin()) {
        return Err(UpstreamError::Config(
            "the product id would send the item request to another origin than the item URL's",
        ));
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}
