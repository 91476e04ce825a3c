//! A listing page as it arrived: its records still undecoded, each with its id and the
//! fingerprint of its exact bytes. The engine decodes only the records whose fingerprint the
//! catalog does not already hold: an unchanged product costs no decoding.

use std::sync::Arc;

use reqwest::Url;
use reqwest::header::HeaderMap;
use serde_json::value::RawValue;

use super::mend::Mended;
use super::{InvalidProduct, Page, PageAt, UpstreamError, listing, mapping, mend};
use crate::domain::{Product, RecordFingerprint};
use crate::source::Source;

/// Bumped whenever decoding or the content hash changes for the same bytes, so fingerprints
/// taken before no longer pass for unchanged records (each is decoded and refreshed once).
const DECODER_VERSION: &str = "catalog-sync records v2";

/// A listing page whose records are not decoded yet.
#[derive(Debug)]
pub struct RawPage {
    /// How many products the listing says it has, when it says.
    pub total: Option<u64>,
    /// Where the next page is, for listings that say (or offsets without a total).
    pub next: Option<PageAt>,
    /// The answer's bytes, mended when it held flaws inside records.
    body: Vec<u8>,
    records: Vec<Record>,
    source: Arc<Source>,
    seed: u64,
}

#[derive(Debug)]
struct Record {
    start: usize,
    end: usize,
    id: Option<String>,
    /// Why the record cannot be read as it came (bad bytes inside it, or variants that could
    /// not be fetched).
    flaw: Option<String>,
    /// Its variants from their own endpoint (a JSON array), for a source that fetches them.
    variants: Option<Vec<u8>>,
}

/// The seed of a source's record fingerprints: its mapping, so records read by another mapping
/// are never taken for unchanged.
pub(super) fn seed(source: &Source) -> u64 {
    let mapping = format!("{:?} {:?}", source.list.records, source.fields);
    xxhash_rust::xxh3::xxh3_64(format!("{DECODER_VERSION} {mapping}").as_bytes())
}

impl RawPage {
    /// Splits the answer to the page `at` (requested at `url`) into its records.
    pub(super) fn parse(
        source: &Arc<Source>,
        seed: u64,
        at: &PageAt,
        url: &Url,
        headers: &HeaderMap,
        body: Vec<u8>,
    ) -> Result<RawPage, UpstreamError> {
        let split = |bytes: &[u8], mended: Option<&Mended>| -> Result<RawPage, UpstreamError> {
            let raw = listing::decode(source, at, url, headers, bytes)?;
            let (records, total, next) = (raw.records, raw.total, raw.next);
            if mended.is_some_and(|m| !m.only_in(&records)) {
                return Err(UpstreamError::NotJson("a flaw outside the records".into()));
            }
            let base = bytes.as_ptr() as usize;
            let records = records
                .into_iter()
                .map(|raw| {
                    let start = raw.get().as_ptr() as usize - base;
                    Record {
                        start,
                        end: start + raw.get().len(),
                        id: mapping::record_id(&source.fields, raw),
                        flaw: mended.and_then(|m| m.flaw_in(raw)),
                        variants: None,
                    }
                })
                .collect();
            Ok(RawPage {
                total,
                next,
                body: Vec::new(),
                records,
                source: Arc::clone(source),
                seed,
            })
        };
        let (page, mended) = mend::parse_keeping_mended(&body, split)?;
        Ok(RawPage {
            body: mended.unwrap_or(body),
            ..page
        })
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The id of record `i`, when it has a readable one.
    pub fn id(&self, i: usize) -> Option<&str> {
        self.records[i].id.as_deref()
    }

    /// The fingerprint of record `i`; `None` for a record that held a flaw, which is never
    /// taken for unchanged.
    pub fn fingerprint(&self, i: usize) -> Option<RecordFingerprint> {
        let record = &self.records[i];
        if record.flaw.is_some() {
            return None;
        }
        let bytes = &self.body[record.start..record.end];
        Some(match &record.variants {
            None => RecordFingerprint::of(self.seed, bytes),
            // The record with its variants: a change to either is a change.
            Some(variants) => {
                RecordFingerprint::of(self.seed, &[bytes, b"\x1f", variants.as_slice()].concat())
            }
        })
    }

    /// Whether record `i` lists variants to fetch from the source's variants endpoint (a
    /// non-empty list at `variants.records`).
    pub fn wants_variants(&self, i: usize) -> bool {
        let record = &self.records[i];
        if record.flaw.is_some() || record.id.is_none() {
            return false;
        }
        let text = std::str::from_utf8(&self.body[record.start..record.end]).unwrap_or("{}");
        serde_json::from_str::<&RawValue>(text)
            .is_ok_and(|raw| mapping::lists_variant_ids(&self.source.fields, raw))
    }

    /// Gives record `i` its variants as fetched: their records (a JSON array), or why they
    /// could not be (the record then fails alone).
    pub fn set_variants(&mut self, i: usize, fetched: Result<Vec<u8>, String>) {
        let record = &mut self.records[i];
        match fetched {
            Ok(variants) => record.variants = Some(variants),
            Err(why) => record.flaw = Some(why),
        }
    }

    /// Record `i` read with the source's mapping.
    pub fn decode(&self, i: usize) -> Result<Product, InvalidProduct> {
        let record = &self.records[i];
        if let Some(flaw) = &record.flaw {
            return Err(InvalidProduct {
                product_id: record.id.clone(),
                message: flaw.clone(),
            });
        }
        // The bytes were split out of valid JSON text, so they are valid UTF-8 and JSON.
        let text = std::str::from_utf8(&self.body[record.start..record.end]).map_err(|e| {
            InvalidProduct {
                product_id: record.id.clone(),
                message: format!("not UTF-8: {e}"),
            }
        })?;
        let variants = match &record.variants {
            None => None,
            Some(bytes) => Some(
                std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| serde_json::from_str::<&RawValue>(text).ok())
                    .ok_or_else(|| InvalidProduct {
                        product_id: record.id.clone(),
                        message: "its variants are not JSON".into(),
                    })?,
            ),
        };
        mapping::product_with(&self.source.fields, text, variants)
    }

    /// Every record decoded.
    pub fn decode_all(self) -> Page {
        Page {
            total: self.total,
            products: (0..self.len()).map(|i| self.decode(i)).collect(),
            next: self.next.clone(),
        }
    }
}

/// A DummyJSON listing answer split as the built-in source splits it (for tests).
#[cfg(test)]
fn builtin_page(body: &[u8]) -> Result<RawPage, UpstreamError> {
    let source = Arc::new(Source::dummyjson(
        &Url::parse("https://dummyjson.com/products").expect("a URL"),
    ));
    let url = Url::parse("https://dummyjson.com/products?limit=30&skip=0").expect("a URL");
    RawPage::parse(
        &source,
        seed(&source),
        &PageAt::first(30),
        &url,
        &HeaderMap::new(),
        body.to_vec(),
    )
}

/// A DummyJSON listing answer read as the built-in source reads it (for tests).
#[cfg(test)]
pub(super) fn decode_builtin_page(body: &[u8]) -> Result<Page, UpstreamError> {
    builtin_page(body).map(RawPage::decode_all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &[u8]) -> RawPage {
        builtin_page(body).unwrap()
    }

    #[test]
    fn records_keep_their_ids_and_fingerprint_their_exact_bytes() {
        let one =
            page(br#"{"products":[{"id":1,"title":"A"},{"id":"x-2","title":"B"}],"total":2}"#);
        let again =
            page(br#"{"total":2,"products":[{"id":1,"title":"A"}, {"id":"x-2","title":"C"}]}"#);
        assert_eq!((one.id(0), one.id(1)), (Some("1"), Some("x-2")));
        assert_eq!(one.fingerprint(0), again.fingerprint(0), "same bytes");
        assert_ne!(one.fingerprint(1), again.fingerprint(1), "other bytes");
        assert_eq!(one.decode(1).unwrap().title, "B");
        assert_eq!(one.total, Some(2));
    }

    #[test]
    fn a_record_with_a_flaw_has_no_fingerprint_and_fails_alone() {
        let mut body =
            br#"{"products":[{"id":1,"title":"A"},{"id":2,"title":"B?"}],"total":2}"#.to_vec();
        let at = body.iter().position(|b| *b == b'?').unwrap();
        body[at] = 0xff;
        let page = page(&body);
        assert!(page.fingerprint(0).is_some() && page.decode(0).is_ok());
        assert!(page.fingerprint(1).is_none());
        let bad = page.decode(1).unwrap_err();
        assert_eq!(bad.product_id.as_deref(), Some("2"));
        assert!(bad.message.contains("invalid UTF-8"), "{}", bad.message);
    }

    #[test]
    fn another_mapping_gives_other_fingerprints() {
        let builtin = Source::dummyjson(&Url::parse("https://dummyjson.com/products").unwrap());
        let file = Source::parse("d.toml", "preset = \"dummyjson\"", |_| None).unwrap();
        let mut other = file.clone();
        other.fields.title = crate::source::Pointer::parse("/name").unwrap();
        assert_eq!(seed(&builtin), seed(&file), "one mapping, one fingerprint");
        assert_ne!(seed(&file), seed(&other));
        assert_eq!(seed(&file), seed(&file.clone()));
    }

    #[test]
    fn a_bad_element_fails_alone_and_keeps_its_id() {
        let body = br#"{"products":[{"id":1,"title":"A"},{"id":2,"title":"B","price":"cheap"},{"id":3}],"total":3}"#;
        let page = decode_builtin_page(body).unwrap();
        assert_eq!(page.total, Some(3));
        assert!(page.products[0].is_ok());
        let bad = page.products[1].as_ref().unwrap_err();
        assert_eq!(bad.product_id.as_deref(), Some("2"));
        let untitled = page.products[2].as_ref().unwrap_err();
        assert!(
            untitled.message.contains("no title"),
            "{}",
            untitled.message
        );
    }

    #[test]
    fn a_bad_byte_or_a_nan_fails_its_product_alone() {
        let mut body = br#"{"products":[{"id":1,"title":"A"},{"id":2,"title":"B?"},{"id":3,"title":"C","price":NaN},{"id":4,"title":"D"}],"total":4}"#.to_vec();
        let at = body.iter().position(|b| *b == b'?').unwrap();
        body[at] = 0xc3;
        let page = decode_builtin_page(&body).unwrap();
        let ids: Vec<Option<String>> = page
            .products
            .iter()
            .map(|p| match p {
                Ok(p) => Some(p.external_id.clone()),
                Err(bad) => bad.product_id.clone(),
            })
            .collect();
        assert_eq!(
            ids,
            [Some("1"), Some("2"), Some("3"), Some("4")].map(|s| s.map(String::from))
        );
        assert!(page.products[0].is_ok() && page.products[3].is_ok());
        let utf8 = page.products[1].as_ref().unwrap_err();
        assert!(utf8.message.contains("invalid UTF-8"), "{}", utf8.message);
        let nan = page.products[2].as_ref().unwrap_err();
        assert!(nan.message.contains("NaN"), "{}", nan.message);
        // A flaw in the page's own fields is not a product's: the page fails.
        assert!(matches!(
            decode_builtin_page(br#"{"products":[{"id":1,"title":"A"}],"total":NaN}"#),
            Err(UpstreamError::NotJson(_))
        ));
    }

    #[test]
    fn page_errors_say_whether_to_retry() {
        assert!(matches!(
            decode_builtin_page(br#"{"products":[{"id":1"#),
            Err(UpstreamError::BodyCut(_))
        ));
        assert!(matches!(
            decode_builtin_page(br#"{"items":[]}"#),
            Err(UpstreamError::Shape(_))
        ));
        assert!(matches!(
            decode_builtin_page(b"<html>"),
            Err(UpstreamError::NotJson(_))
        ));
        assert!(
            decode_builtin_page(br#"{"products":[{"id":1"#)
                .unwrap_err()
                .is_retryable()
        );
        assert!(
            !decode_builtin_page(br#"{"items":[]}"#)
                .unwrap_err()
                .is_retryable()
        );
    }
}
