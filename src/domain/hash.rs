//! Content hashes: a 128-bit fingerprint of everything the service stores about a product, so a
//! sync can skip rows whose content did not change without comparing columns.

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

/// Encodes values unambiguously (every item tagged, every string length-prefixed) and hashes
/// the encoding with XXH3-128 in one pass. Hashing the whole encoding at once gives the digest
/// a streaming XXH3 state fed the same bytes would; a part of the encoding can be hashed on its
/// own too (a variant inside its product).
pub(crate) struct Hasher(Vec<u8>);

impl Hasher {
    pub(crate) fn new() -> Self {
        Hasher(Vec::with_capacity(512))
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.0.push(b's');
        self.0.extend_from_slice(&(s.len() as u64).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => {
                self.0.push(b'n');
                self
            }
        }
    }

    pub(crate) fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => {
                self.0.push(b'i');
                self.0.extend_from_slice(&v.to_le_bytes());
            }
            None => self.0.push(b'n'),
        }
        self
    }

    pub(crate) fn strs(&mut self, items: &[String]) -> &mut Self {
        self.0.push(b'a');
        self.0
            .extend_from_slice(&(items.len() as u64).to_le_bytes());
        for item in items {
            self.str(item);
        }
        self
    }

    /// Where the encoding ends now, for [`Hasher::finish_since`].
    pub(crate) fn mark(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn finish(&self) -> ContentHash {
        self.finish_since(0)
    }

    /// The hash of what was fed since `mark`: what a fresh hasher fed the same values gives.
    pub(crate) fn finish_since(&self, mark: usize) -> ContentHash {
        ContentHash(xxhash_rust::xxh3::xxh3_128(&self.0[mark..]).to_le_bytes())
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

    #[test]
    fn a_part_hashes_as_a_fresh_hasher_fed_the_same_values() {
        let mut whole = Hasher::new();
        whole.str("product").opt_i64(Some(7));
        let mark = whole.mark();
        whole.str("variant").opt_str(None);
        let alone = Hasher::new().str("variant").opt_str(None).finish();
        assert_eq!(whole.finish_since(mark), alone);
        assert_ne!(whole.finish(), alone);
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
