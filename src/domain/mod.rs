//! Pure domain types: products, handles, content hashes and run summaries. Nothing here does I/O,
//! so every rule about what a product is and how a run is judged is unit-tested beside its code.

mod attributes;
mod handle;
mod hash;
mod product;
mod summary;

pub use attributes::Attributes;
pub use handle::{slugify, suffixed_handle};
pub use hash::ContentHash;
pub use product::{Price, Product, ProductError, category_name};
pub use summary::{
    BatchCounts, Counts, ErrorKind, MAX_SUMMARY_ERRORS, RunError, RunMode, RunStatus, RunSummary,
};
