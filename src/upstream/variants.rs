//! A product's variants from their own endpoint, for a source whose records list only variant
//! ids (WooCommerce's variations): every page of them, within the source's rate limit and
//! retries like any request.

use serde_json::value::RawValue;
use tracing::{Instrument, info_span};

use super::{Upstream, UpstreamError, http, urls};
use crate::domain::MAX_VARIANTS;

impl Upstream {
    /// Whether the source fetches variants from their own endpoint.
    pub fn fetches_variants(&self) -> bool {
        self.source
            .fields
            .variants
            .as_ref()
            .is_some_and(|v| v.endpoint.is_some())
    }

    /// Every variant record of product `id` from the source's variants endpoint, as the text of
    /// one JSON array; `Ok(None)` when the endpoint answers 404 (the product is gone). Pages
    /// are read until one comes short, and no further than a product's most variants.
    pub async fn variant_records(&self, id: &str) -> Result<Option<Vec<u8>>, UpstreamError> {
        let Some(endpoint) = self
            .source
            .fields
            .variants
            .as_ref()
            .and_then(|v| v.endpoint.as_ref())
        else {
            return Ok(Some(b"[]".to_vec()));
        };
        let size = endpoint.page_size as usize;
        let mut out = b"[".to_vec();
        let mut count = 0usize;
        for page in 1..=(MAX_VARIANTS / size + 2) {
            let query = [
                (endpoint.limit_param.clone(), endpoint.page_size.to_string()),
                (endpoint.page_param.clone(), page.to_string()),
            ];
            let url = urls::id_url(&endpoint.url, id, &query)?;
            let span = info_span!(
                "upstream.variants",
                product_id = id,
                page,
                attempts = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
            );
            let url = &url;
            let body = self
                .http
                .with_retries(|resends| async move {
                    match self.http.get(url, resends).await {
                        Ok(answer) => Ok(Some(answer.body)),
                        Err(e) if http::is_not_found(&e) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .instrument(span)
                .await?;
            let Some(body) = body else {
                return Ok(None);
            };
            let records: Vec<&RawValue> = serde_json::from_slice(&body).map_err(|e| {
                UpstreamError::Shape(format!(
                    "the variants of product {id} are not a JSON array of records: {e}"
                ))
            })?;
            for record in &records {
                if count > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(record.get().as_bytes());
                count += 1;
            }
            if records.len() < size {
                break;
            }
        }
        out.push(b']');
        Ok(Some(out))
    }
}
