//! Pure domain types: products, handles, content hashes and run summaries. Nothing here does I/O,
//! so every rule about what a product is and how a run is judged is unit-tested beside its code.

mod attributes;
mod handle;
mod hash;
mod id;
mod price;
mod product;
mod summary;
mod variant;

pub use attributes::Attributes;
pub use handle::{slugify, suffixed_handle};
pub use hash::{ContentHash, RecordFingerprint};
pub use id::{IdError, MAX_ID_CHARS, ProductId, check_product_id, is_id_char};
pub use price::{MAX_FRACTION_DIGITS, MAX_INTEGER_DIGITS, Price, PriceError};
pub use product::{Category, PreparedProduct, Product, ProductError, category_name};
pub use summary::{
    ArchiveMethod, ArchiveReport, BatchCounts, Counts, ErrorKind, MAX_SUMMARY_ERRORS, MedusaCounts,
    MedusaDelivery, NotFound, ResumedFrom, RunError, RunMode, RunStatus, RunSummary, VariantCounts,
};
pub use variant::{Currency, MAX_VARIANTS, PriceKind, ProductOption, Variant, VariantPrice};

/// A valid product with every field set, for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use product::tests::sample as sample_product;

/// Sample products for the unit tests of other modules.
#[cfg(test)]
pub(crate) use product::tests::{sample, shirt};
