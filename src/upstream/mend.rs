//! Answers that would be JSON but for a few bad bytes inside values: invalid UTF-8, a raw
//! control character or a lone surrogate escape in a string, `NaN` or `Infinity` where a
//! number stands. Such an answer is mended into valid JSON of the same length, and each record
//! that held a flaw is refused on its own: one bad byte fails one product, not its page.
//!
//! Pure: no I/O. Only an answer that failed to parse is mended, so well-formed answers pay
//! nothing for it.

use serde_json::value::RawValue;

use super::UpstreamError;

/// A bad spot in an answer: where it starts and what it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Flaw {
    at: usize,
    what: &'static str,
}

/// An answer mended into valid JSON of the same length, and what was mended.
#[derive(Debug)]
pub(super) struct Mended {
    pub bytes: Vec<u8>,
    /// In byte order.
    flaws: Vec<Flaw>,
}

/// Parses `body` with `parse`; when it is not JSON only because of flaws inside values, parses
/// the mended copy instead, handing `parse` what was mended so it can refuse the records that
/// held a flaw (and refuse the page when a flaw lies outside every record). Any other failure
/// is the original one.
pub(super) fn parse_tolerantly<T>(
    body: &[u8],
    parse: impl Fn(&[u8], Option<&Mended>) -> Result<T, UpstreamError>,
) -> Result<T, UpstreamError> {
    parse_keeping_mended(body, parse).map(|(parsed, _)| parsed)
}

/// [`parse_tolerantly`], also handing back the mended bytes when it parsed those (for a
/// caller that keeps offsets into what was parsed).
pub(super) fn parse_keeping_mended<T>(
    body: &[u8],
    parse: impl Fn(&[u8], Option<&Mended>) -> Result<T, UpstreamError>,
) -> Result<(T, Option<Vec<u8>>), UpstreamError> {
    match parse(body, None) {
        Ok(parsed) => Ok((parsed, None)),
        Err(UpstreamError::NotJson(original)) => match mend(body) {
            Some(mended) => parse(&mended.bytes, Some(&mended))
                .map(|parsed| (parsed, Some(mended.bytes)))
                .map_err(|_| UpstreamError::NotJson(original)),
            None => Err(UpstreamError::NotJson(original)),
        },
        Err(other) => Err(other),
    }
}

impl Mended {
    /// Why `record` (a value borrowed from [`Mended::bytes`]) cannot be read as it came, if
    /// it held a flaw.
    pub fn flaw_in(&self, record: &RawValue) -> Option<String> {
        let (start, end) = self.span_of(record)?;
        let inside: Vec<&Flaw> = self
            .flaws
            .iter()
            .filter(|f| (start..end).contains(&f.at))
            .collect();
        let first = inside.first()?;
        let more = match inside.len() - 1 {
            0 => String::new(),
            1 => " and 1 more flaw".to_owned(),
            n => format!(" and {n} more flaws"),
        };
        Some(format!(
            "the upstream sent this product as broken JSON: {} at byte {} of the answer{more}",
            first.what, first.at
        ))
    }

    /// Whether every flaw lies inside one of `records`. A flaw elsewhere (in the total, the
    /// paging fields) breaks the page itself.
    pub fn only_in(&self, records: &[&RawValue]) -> bool {
        let spans: Vec<(usize, usize)> = records.iter().filter_map(|r| self.span_of(r)).collect();
        self.flaws.iter().all(|f| {
            spans
                .iter()
                .any(|(start, end)| (*start..*end).contains(&f.at))
        })
    }

    /// Where `record` lies in the mended bytes.
    fn span_of(&self, record: &RawValue) -> Option<(usize, usize)> {
        let base = self.bytes.as_ptr() as usize;
        let start = (record.get().as_ptr() as usize).checked_sub(base)?;
        let end = start + record.get().len();
        (end <= self.bytes.len()).then_some((start, end))
    }
}

/// Mends `body`, or `None` when it holds none of the flaws this module knows.
pub(super) fn mend(body: &[u8]) -> Option<Mended> {
    let mut bytes = body.to_vec();
    let mut flaws = Vec::new();
    let mut at = 0;
    for chunk in body.utf8_chunks() {
        at += chunk.valid().len();
        for _ in chunk.invalid() {
            bytes[at] = b'?';
            flaws.push(Flaw {
                at,
                what: "invalid UTF-8",
            });
            at += 1;
        }
    }
    mend_values(&mut bytes, &mut flaws);
    if flaws.is_empty() {
        return None;
    }
    flaws.sort_by_key(|f| f.at);
    Some(Mended { bytes, flaws })
}

/// Mends what is not JSON in strings (control characters, lone surrogates) and the number
/// literals JavaScript writes but JSON has not. Each is replaced by text of the same length.
fn mend_values(bytes: &mut [u8], flaws: &mut Vec<Flaw>) {
    const NOT_NUMBERS: [(&[u8], &str); 4] = [
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b"+Infinity", "+Infinity is not a JSON number"),
        (b"Infinity", "Infinity is not a JSON number"),
        (b"NaN", "NaN is not a JSON number"),
    ];
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                    let (len, lone) = unicode_escape(&bytes[i..]);
                    if lone {
                        bytes[i..i + 6].copy_from_slice(b"\\ufffd");
                        flaws.push(Flaw {
                            at: i,
                            what: "a lone surrogate escape",
                        });
                    }
                    i += len;
                    continue;
                }
                b'\\' => {
                    i += 2;
                    continue;
                }
                0x00..=0x1f => {
                    bytes[i] = b' ';
                    flaws.push(Flaw {
                        at: i,
                        what: "a raw control character in a string",
                    });
                }
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some((literal, what)) = NOT_NUMBERS
            .iter()
            .find(|(literal, _)| bytes[i..].starts_with(literal))
        {
            bytes[i] = b'0';
            bytes[i + 1..i + literal.len()].fill(b' ');
            flaws.push(Flaw { at: i, what });
            i += literal.len();
            continue;
        }
        i += 1;
    }
}

/// At a `\u` escape: how many bytes it takes (a surrogate pair takes both of its escapes),
/// and whether it is a surrogate without its partner (which JSON parsers refuse).
fn unicode_escape(at: &[u8]) -> (usize, bool) {
    let unit = |s: &[u8]| -> Option<u16> {
        let hex = std::str::from_utf8(s.get(2..6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    };
    match unit(at) {
        Some(0xd800..=0xdbff) => {
            let low = at
                .get(6..)
                .filter(|rest| rest.starts_with(b"\\u"))
                .and_then(unit);
            match low {
                Some(0xdc00..=0xdfff) => (12, false),
                _ => (6, true),
            }
        }
        Some(0xdc00..=0xdfff) => (6, true),
        // Another escape, or a malformed one the parser will refuse on its own.
        _ => (2, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &[u8]) -> Vec<&RawValue> {
        serde_json::from_slice(bytes).expect("mended bytes are JSON")
    }

    #[test]
    fn well_formed_json_needs_no_mending() {
        assert!(mend(br#"[{"id":1,"title":"caf\u00e9 \ud83d\ude00 \"NaN\""}]"#).is_none());
        assert!(mend("[{\"title\":\"Ünïcödé ✓\"}]".as_bytes()).is_none());
    }

    #[test]
    fn a_flaw_fails_only_the_record_that_holds_it() {
        let mut body =
            br#"[{"id":1,"title":"ok"},{"id":2,"title":"bad "},{"id":3,"price":NaN}]"#.to_vec();
        let bad = body.windows(4).position(|w| w == b"bad ").unwrap() + 3;
        body[bad] = 0xff;
        let mended = mend(&body).expect("two flaws");
        assert_eq!(mended.bytes.len(), body.len());
        let list = records(&mended.bytes);
        assert!(mended.only_in(&list));
        assert_eq!(mended.flaw_in(list[0]), None);
        let utf8 = mended.flaw_in(list[1]).unwrap();
        assert!(utf8.contains("invalid UTF-8"), "{utf8}");
        let nan = mended.flaw_in(list[2]).unwrap();
        assert!(nan.contains("NaN is not a JSON number"), "{nan}");
    }

    #[test]
    fn every_kind_of_flaw_is_mended_to_json_of_the_same_length() {
        for body in [
            &b"[{\"t\":\"a\x01b\"}]"[..],
            br#"[{"t":"\ud800x"}]"#,
            br#"[{"t":"\udc00"}]"#,
            br#"[{"p":Infinity},{"p":-Infinity}]"#,
            b"[{\"t\":\"\xe2\x82\"}]",
        ] {
            let mended = mend(body).unwrap_or_else(|| panic!("{body:?} has a flaw"));
            assert_eq!(mended.bytes.len(), body.len());
            let list = records(&mended.bytes);
            assert!(list.iter().any(|r| mended.flaw_in(r).is_some()));
        }
    }

    #[test]
    fn a_flaw_outside_the_records_breaks_the_page() {
        let body = br#"{"products":[{"id":1}],"total":NaN}"#;
        let mended = mend(body).unwrap();
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow)]
            products: Vec<&'a RawValue>,
        }
        let page: Page = serde_json::from_slice(&mended.bytes).unwrap();
        assert!(!mended.only_in(&page.products));
    }

    #[test]
    fn structure_that_is_broken_stays_broken() {
        let result = parse_tolerantly(b"{\"products\":[\xff", |bytes, _| {
            serde_json::from_slice::<serde_json::Value>(bytes)
                .map_err(|e| UpstreamError::NotJson(e.to_string()))
        });
        assert!(matches!(result, Err(UpstreamError::NotJson(_))));
    }
}
