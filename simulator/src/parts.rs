//! Building blocks of the synthetic products: the integer hash every value is drawn from,
//! allocation-free text and timestamp formatting, and the nested JSON parts (tags, dimensions,
//! reviews, meta, images).

use std::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::words::{BAD_COMMENTS, Category, FIRST_NAMES, GOOD_COMMENTS, LAST_NAMES};

pub(crate) const DAY_MS: u64 = 86_400_000;
const QR_CODE: &str = "https://cdn.dummyjson.com/public/qr-code.png";

/// The splitmix64 finalizer: a fast, well-mixed 64-bit hash.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Per-product pseudo-random values, one independent hash per salt.
#[derive(Clone, Copy)]
pub(crate) struct Draw(u64);

impl Draw {
    pub(crate) fn new(seed: u64, id: u64) -> Draw {
        Draw(splitmix64(
            splitmix64(seed) ^ id.wrapping_mul(0xD6E8_FEB8_6659_FD93),
        ))
    }

    pub(crate) fn hash(self, salt: u64) -> u64 {
        splitmix64(self.0 ^ salt.wrapping_mul(0xA076_1D64_78BD_642F))
    }

    /// A value in `lo..=hi`.
    pub(crate) fn range(self, salt: u64, lo: u64, hi: u64) -> u64 {
        lo + self.hash(salt) % (hi - lo + 1)
    }

    pub(crate) fn pick<T: Copy>(self, salt: u64, items: &[T]) -> T {
        items[(self.hash(salt) % items.len() as u64) as usize]
    }

    /// A value in `lo..=hi` that changes with every version step (when the range allows).
    pub(crate) fn versioned(self, salt: u64, lo: u64, hi: u64, version: u32) -> u64 {
        let span = hi - lo + 1;
        if span < 2 {
            return lo;
        }
        let start = self.hash(salt) % span;
        let step = 1 + self.hash(salt + 1) % (span - 1);
        lo + (start + u64::from(version) * step) % span
    }
}

/// Cents as a JSON number with at most two decimals (`999` → `9.99`).
pub(crate) fn cents(value: u64) -> f64 {
    value as f64 / 100.0
}

/// A displayable closure, serialized as a JSON string without an intermediate `String`.
pub(crate) struct Text<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result>(pub(crate) F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> Display for Text<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> Serialize for Text<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Writes `s` in lower case with spaces as `sep` and other non-alphanumerics dropped.
pub(crate) fn slug(f: &mut fmt::Formatter<'_>, s: &str, sep: Option<char>) -> fmt::Result {
    let sep = sep.filter(char::is_ascii).map(|c| c as u8);
    let mut out = AsciiBuf::default();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(f, b.to_ascii_lowercase())?;
        } else if let (b' ' | b'-', Some(sep)) = (b, sep) {
            out.push(f, sep)?;
        }
    }
    out.flush(f)
}

/// Writes the first three letters of `s` in upper case (for SKUs).
pub(crate) fn code3(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let mut out = AsciiBuf::default();
    for b in s.bytes().filter(u8::is_ascii_alphabetic).take(3) {
        out.push(f, b.to_ascii_uppercase())?;
    }
    out.flush(f)
}

/// A small stack buffer of ASCII bytes, written to a formatter in one call rather than per
/// character (each write to serde_json's string adapter has a cost).
struct AsciiBuf {
    bytes: [u8; 48],
    len: usize,
}

impl Default for AsciiBuf {
    fn default() -> Self {
        AsciiBuf {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl AsciiBuf {
    fn push(&mut self, f: &mut fmt::Formatter<'_>, byte: u8) -> fmt::Result {
        if self.len == self.bytes.len() {
            self.flush(f)?;
        }
        self.bytes[self.len] = byte;
        self.len += 1;
        Ok(())
    }

    fn flush(&mut self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::str::from_utf8(&self.bytes[..self.len]).map_err(|_| fmt::Error)?;
        self.len = 0;
        f.write_str(text)
    }
}

/// Milliseconds since the Unix epoch as RFC 3339 with milliseconds: `2025-04-30T09:41:02.053Z`.
pub(crate) struct Timestamp(pub u64);

impl Timestamp {
    /// Year, month, day, hour, minute, second and millisecond (UTC).
    fn fields(&self) -> [u64; 7] {
        let (days, ms) = (self.0 / DAY_MS, self.0 % DAY_MS);
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), for non-negative days.
        let z = days + 719_468;
        let (era, doe) = (z / 146_097, z % 146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
        [year, month, day, h, m, s, ms % 1000]
    }

    /// The RFC 3339 text without `fmt` machinery, or `None` past the year 9999.
    fn text(&self) -> Option<[u8; 24]> {
        let fields = self.fields();
        if fields[0] > 9999 {
            return None;
        }
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let slots = [(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 3)];
        for ((at, width), mut value) in slots.into_iter().zip(fields) {
            for digit in out[at..at + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(out)
    }
}

impl Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.text() {
            return f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?);
        }
        let [year, month, day, h, m, s, ms] = self.fields();
        write!(
            f,
            "{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z"
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.text() {
            Some(text) => serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => serializer.collect_str(self),
        }
    }
}

pub(crate) struct Tags {
    pub(crate) draw: Draw,
    pub(crate) category: &'static Category,
}

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tags = self.category.tags;
        let count = self.draw.range(40, 1, 3) as usize;
        let start = (self.draw.hash(41) % tags.len() as u64) as usize;
        let mut seq = serializer.serialize_seq(Some(count))?;
        for i in 0..count {
            seq.serialize_element(tags[(start + i) % tags.len()])?;
        }
        seq.end()
    }
}

pub(crate) struct Dimensions(pub(crate) Draw);

impl Serialize for Dimensions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("width", &cents(self.0.range(50, 500, 3000)))?;
        map.serialize_entry("height", &cents(self.0.range(51, 500, 3000)))?;
        map.serialize_entry("depth", &cents(self.0.range(52, 500, 3000)))?;
        map.end()
    }
}

pub(crate) struct Reviews {
    pub(crate) draw: Draw,
    pub(crate) created: u64,
}

impl Serialize for Reviews {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let count = self.draw.range(60, 1, 3);
        let mut seq = serializer.serialize_seq(Some(count as usize))?;
        for i in 0..count {
            let salt = 100 + i * 8;
            let d = self.draw;
            let rating = d.range(salt, 1, 5);
            let comments = if rating >= 3 {
                GOOD_COMMENTS
            } else {
                BAD_COMMENTS
            };
            let (first, last) = (d.pick(salt + 1, FIRST_NAMES), d.pick(salt + 2, LAST_NAMES));
            let date = self.created + d.hash(salt + 3) % (60 * DAY_MS);
            seq.serialize_element(&Review {
                rating,
                comment: d.pick(salt + 4, comments),
                date,
                first,
                last,
            })?;
        }
        seq.end()
    }
}

struct Review {
    rating: u64,
    comment: &'static str,
    date: u64,
    first: &'static str,
    last: &'static str,
}

impl Serialize for Review {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (first, last) = (self.first, self.last);
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("rating", &self.rating)?;
        map.serialize_entry("comment", self.comment)?;
        map.serialize_entry("date", &Timestamp(self.date))?;
        map.serialize_entry("reviewerName", &Text(|f| write!(f, "{first} {last}")))?;
        let email = Text(|f| {
            slug(f, first, None)?;
            f.write_char('.')?;
            slug(f, last, None)?;
            f.write_str("@x.dummyjson.com")
        });
        map.serialize_entry("reviewerEmail", &email)?;
        map.end()
    }
}

pub(crate) struct Meta {
    pub(crate) draw: Draw,
    pub(crate) created: u64,
    pub(crate) updated: u64,
}

impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let barcode = self.draw.hash(70) % 10_000_000_000_000;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("createdAt", &Timestamp(self.created))?;
        map.serialize_entry("updatedAt", &Timestamp(self.updated))?;
        map.serialize_entry("barcode", &Text(|f| write!(f, "{barcode:013}")))?;
        map.serialize_entry("qrCode", QR_CODE)?;
        map.end()
    }
}

pub(crate) type ImageFn<'a> =
    dyn Fn(&mut fmt::Formatter<'_>, fmt::Arguments<'_>) -> fmt::Result + 'a;

pub(crate) struct Images<'a> {
    pub(crate) count: u64,
    pub(crate) image: &'a ImageFn<'a>,
}

impl Serialize for Images<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.count as usize))?;
        for n in 1..=self.count {
            seq.serialize_element(&Text(|f| (self.image)(f, format_args!("{n}"))))?;
        }
        seq.end()
    }
}
