//! Content hashes: a 128-bit fingerprint of everything the service stores about a product, so a
//! sync can skip rows whose content did not change without comparing columns.

use xxhash_rust::xxh3::Xxh3;

/// A 128-bit content fingerprint (XXH3). Not a security boundary: it only detects change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 16]);

impl ContentHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A 128-bit fingerprint (XXH3) of one upstream record's exact bytes, seeded with the mapping
/// that reads it. The same bytes read by the same mapping give the same product, so a record
/// whose fingerprint the catalog already holds needs no decoding to be known unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordFingerprint(pub [u8; 16]);

impl RecordFingerprint {
    pub fn of(seed: u64, record: &[u8]) -> Self {
        RecordFingerprint(xxhash_rust::xxh3::xxh3_128_with_seed(record, seed).to_le_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Feeds values into an XXH3 state in an unambiguous encoding: every item is tagged and every
/// string is length-prefixed.
pub(crate) struct Hasher(Xxh3);

impl Hasher {
    pub(crate) fn new() -> Self {
        Hasher(Xxh3::new())
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.0.update(b"s");
        self.0.update(&(s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
        self
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => {
                self.0.update(b"n");
                self
            }
        }
    }

    pub(crate) fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => {
                self.0.update(b"i");
                self.0.update(&v.to_le_bytes());
            }
            None => self.0.update(b"n"),
        }
        self
    }

    pub(crate) fn strs(&mut self, items: &[String]) -> &mut Self {
        self.0.update(b"a");
        self.0.update(&(items.len() as u64).to_le_bytes());
        for item in items {
            self.str(item);
        }
        self
    }

    pub(crate) fn finish(&self) -> ContentHash {
        ContentHash(self.0.digest128().to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_boundaries_are_unambiguous() {
        let one = Hasher::new().str("ab").str("c").finish();
        let two = Hasher::new().str("a").str("bc").finish();
        assert_ne!(one, two);
    }

    #[test]
    fn absent_and_empty_differ() {
        let absent = Hasher::new().opt_str(None).finish();
        let empty = Hasher::new().opt_str(Some("")).finish();
        assert_ne!(absent, empty);
        assert_ne!(
            Hasher::new().opt_i64(None).finish(),
            Hasher::new().opt_i64(Some(0)).finish()
        );
        assert_ne!(
            Hasher::new().strs(&["a".into(), "b".into()]).finish(),
            Hasher::new().strs(&["ab".into()]).finish()
        );
    }

    proptest::proptest! {
        #[test]
        fn hashing_is_deterministic(items in proptest::collection::vec(".{0,12}", 0..10)) {
            let a = Hasher::new().strs(&items).finish();
            let b = Hasher::new().strs(&items.clone()).finish();
            proptest::prop_assert_eq!(a, b);
        }
    }
}
