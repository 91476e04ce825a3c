//! Product handles: URL-safe slugs of titles, with a deterministic suffix when two products share
//! a title.

/// Longest handle we produce, in characters; long titles are cut at a word boundary when possible.
const MAX_HANDLE_CHARS: usize = 120;

/// What an empty or symbol-only title becomes.
const FALLBACK_HANDLE: &str = "product";

/// Lower-cases `text` and keeps letters and digits, joining every other run of characters with a
/// single `-`. The result never starts or ends with `-` and never contains `--`, which is what
/// makes [`suffixed_handle`] collision-free.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len().min(MAX_HANDLE_CHARS));
    let mut chars = 0;
    let mut pending_dash = false;
    'chars: for c in text.chars() {
        if !c.is_alphanumeric() {
            pending_dash = !slug.is_empty();
            continue;
        }
        for lower in c.to_lowercase().filter(|l| l.is_alphanumeric()) {
            let needed = if pending_dash { 2 } else { 1 };
            if chars + needed > MAX_HANDLE_CHARS {
                break 'chars;
            }
            if pending_dash {
                slug.push('-');
                chars += 1;
                pending_dash = false;
            }
            slug.push(lower);
            chars += 1;
        }
    }
    if slug.is_empty() {
        slug.push_str(FALLBACK_HANDLE);
    }
    slug
}

/// The handle of a product whose title slug is already taken by another product: the slug, a
/// double dash (which no slug contains) and the slug of the product's upstream id. Distinct ids
/// give distinct handles, and the same product gets the same handle on every run.
pub fn suffixed_handle(base: &str, external_id: &str) -> String {
    format!("{base}--{}", slugify(external_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn titles_become_lowercase_dashed_slugs() {
        assert_eq!(
            slugify("Essence Mascara Lash Princess"),
            "essence-mascara-lash-princess"
        );
        assert_eq!(slugify("  iPhone 13 Pro -- Max!! "), "iphone-13-pro-max");
        assert_eq!(slugify("Café Crème"), "café-crème");
    }

    #[test]
    fn empty_and_symbol_only_titles_fall_back() {
        assert_eq!(slugify(""), "product");
        assert_eq!(slugify("!!! ---"), "product");
    }

    #[test]
    fn suffix_uses_the_external_id() {
        assert_eq!(suffixed_handle("rolex-cellini", "57"), "rolex-cellini--57");
        assert_eq!(suffixed_handle("x", "a/b"), "x--a-b");
    }

    proptest! {
        #[test]
        fn slugs_are_well_formed(title in ".{0,300}") {
            let slug = slugify(&title);
            prop_assert!(!slug.is_empty());
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
            prop_assert!(!slug.contains("--"));
            prop_assert!(slug.chars().count() <= MAX_HANDLE_CHARS);
        }

        #[test]
        fn slugging_a_slug_changes_nothing(title in "[a-zA-Z0-9àéÉß !?.,_/-]{0,300}") {
            let slug = slugify(&title);
            prop_assert_eq!(slugify(&slug), slug);
        }

        #[test]
        fn suffixed_handles_never_equal_a_plain_slug(a in ".{0,40}", b in ".{0,40}", id in "[0-9]{1,6}") {
            prop_assert_ne!(suffixed_handle(&slugify(&a), &id), slugify(&b));
        }
    }
}
