//! Batched catalog writes, one transaction per batch: a classify statement records the ids as
//! seen and finds which products are new, changed or archived; new ones go in with one plain
//! insert and changed ones with one update, so an unchanged product costs one index lookup and
//! is never rewritten.

mod copy;
mod model;
mod rows;

use std::collections::{BTreeSet, HashMap, HashSet};

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::sql;
use super::{Store, StoreError};
use crate::domain::{PreparedProduct, VariantCounts, category_name};
use rows::Rows;

/// Category slugs known to exist, with their ids; `None` marks a slug a dry run counted as
/// would-be-created.
pub type KnownCategories = HashMap<String, Option<i64>>;

/// What writing (or previewing) one batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchWrite {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub categories_created: u64,
    /// Categories this batch resolved: callers add them to the [`KnownCategories`] they pass to
    /// later batches.
    pub categories_resolved: Vec<(String, Option<i64>)>,
    /// Products the database refused (external id, why), written without; not counted above.
    pub refused: Vec<(String, String)>,
    /// Variants of the written products created, rewritten and archived.
    pub variants: VariantCounts,
}

/// How writes treat ordering and bookkeeping.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// Record the ids as seen by this (full) run.
    pub seen_by: Option<Uuid>,
    /// Never let an older `source_updated_at` overwrite a newer one.
    pub respect_source_order: bool,
    /// An archived product is restored only by a strictly newer version (event-carried state,
    /// which may be a late copy; the upstream's own answers restore at any version).
    pub strict_restore: bool,
    /// A stored version further ahead of the database's clock than this is not trusted: it
    /// never blocks a write (it came from a clock that was wrong).
    pub future_tolerance: std::time::Duration,
}

/// A product that needs writing.
struct Pending {
    position: usize,
    is_new: bool,
    handle_taken: bool,
    /// Unchanged, but stored without a record fingerprint: only that is written.
    fingerprint_only: bool,
}

impl Store {
    /// Of listed records (`ids` with their record `fingerprints`), the positions of those whose
    /// fingerprint a live product already holds: unchanged, they need no decoding.
    pub async fn unchanged_records(
        &self,
        ids: &[&str],
        fingerprints: &[&[u8]],
    ) -> Result<Vec<usize>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Planned afresh each time, never from a cached generic plan: during a first load
        // the catalog grows under it, and a plan made while it was nearly empty (a sequential
        // scan of products per page) makes the load quadratic.
        let positions: Vec<i32> = sqlx::query_scalar(sql::SIFT_RECORDS)
            .persistent(false)
            .bind(ids)
            .bind(fingerprints)
            .fetch_all(&self.pool)
            .await?;
        Ok(positions.into_iter().map(|p| p as usize).collect())
    }

    /// Writes one batch in one transaction. The batch must not repeat an external id.
    /// `known` are categories known to exist: most batches need no category statement.
    pub async fn write_batch(
        &self,
        batch: &[PreparedProduct],
        options: WriteOptions,
        known: &KnownCategories,
    ) -> Result<BatchWrite, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (refreshed, pending): (Vec<Pending>, Vec<Pending>) =
            classify(&mut tx, batch, options.seen_by)
                .await?
                .into_iter()
                .partition(|p| p.fingerprint_only);
        refresh_fingerprints(&mut tx, batch, &refreshed.iter().collect::<Vec<_>>()).await?;
        let mut write = BatchWrite {
            unchanged: (batch.len() - pending.len()) as u64,
            ..BatchWrite::default()
        };
        if pending.is_empty() {
            tx.commit().await?;
            return Ok(write);
        }

        let wanted: BTreeSet<&str> = pending
            .iter()
            .flat_map(|p| &batch[p.position].product.categories)
            .map(|c| c.slug.as_str())
            .collect();
        let mut category_ids: HashMap<&str, i64> = wanted
            .iter()
            .filter_map(|slug| Some((*slug, (*known.get(*slug)?)?)))
            .collect();
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|slug| !category_ids.contains_key(slug))
            .collect();
        if !missing.is_empty() {
            // A new category takes the display name the upstream gives, else one from its slug.
            let names: Vec<String> = missing
                .iter()
                .map(|slug| {
                    pending
                        .iter()
                        .flat_map(|p| &batch[p.position].product.categories)
                        .find(|c| c.slug == *slug)
                        .and_then(|c| c.name.clone())
                        .unwrap_or_else(|| category_name(slug))
                })
                .collect();
            let (created, resolved) = ensure_categories(&mut tx, &missing, &names).await?;
            write.categories_created = created;
            for (slug, id) in resolved {
                if let Some(slug) = missing.iter().find(|m| **m == slug) {
                    category_ids.insert(slug, id);
                }
                write.categories_resolved.push((slug, Some(id)));
            }
        }

        // A new product gets its plain handle when no other product holds it and no earlier
        // product of this batch claimed it; otherwise it takes its suffixed handle.
        let mut claimed: HashSet<&str> = HashSet::with_capacity(pending.len());
        let mut inserts = Rows::with_capacity(pending.len());
        let mut updates = Rows::with_capacity(pending.len());
        for p in &pending {
            let prepared = &batch[p.position];
            // A stored product keeps its own handle (the update leaves it alone).
            let handle =
                if !p.is_new || (!p.handle_taken && claimed.insert(prepared.handle.as_str())) {
                    prepared.handle.as_str()
                } else {
                    prepared.handle_suffixed.as_str()
                };
            let category_id = prepared
                .product
                .category()
                .and_then(|slug| category_ids.get(slug).copied());
            let rows = if p.is_new { &mut inserts } else { &mut updates };
            rows.push(prepared, handle, category_id);
        }
        let by_id: HashMap<&str, &PreparedProduct> = pending
            .iter()
            .map(|p| &batch[p.position])
            .map(|prepared| (prepared.product.external_id.as_str(), prepared))
            .collect();
        let written = |rows: Vec<(i64, String)>| -> Vec<(i64, &PreparedProduct)> {
            rows.into_iter()
                .filter_map(|(id, external_id)| Some((id, *by_id.get(external_id.as_str())?)))
                .collect()
        };
        let mut created = Vec::new();
        let mut updated = Vec::new();
        if !inserts.is_empty() {
            created = written(
                inserts
                    .bind(sqlx::query_as(sql::INSERT_PRODUCTS))
                    .fetch_all(&mut *tx)
                    .await?,
            );
            write.created = created.len() as u64;
        }
        if !updates.is_empty() {
            updated = written(
                updates
                    .bind(sqlx::query_as(sql::UPDATE_PRODUCTS))
                    .bind(options.respect_source_order)
                    .bind(options.strict_restore)
                    .bind(options.future_tolerance.as_secs_f64())
                    .fetch_all(&mut *tx)
                    .await?,
            );
            write.updated = updated.len() as u64;
        }
        write.variants = model::write_model(&mut tx, &created, &updated, &category_ids).await?;
        tx.commit().await?;
        write.unchanged = batch.len() as u64 - write.created - write.updated;
        Ok(write)
    }

    /// What `write_batch` would do, without writing catalog rows (the ids are still recorded as
    /// seen, for the archive preview). Categories in `known` are not counted again.
    pub async fn preview_batch(
        &self,
        batch: &[PreparedProduct],
        seen_by: Option<Uuid>,
        known: &KnownCategories,
    ) -> Result<BatchWrite, StoreError> {
        let mut tx = self.pool.begin().await?;
        let pending: Vec<Pending> = classify(&mut tx, batch, seen_by)
            .await?
            .into_iter()
            .filter(|p| !p.fingerprint_only)
            .collect();
        let slugs: Vec<&str> = batch
            .iter()
            .flat_map(|p| &p.product.categories)
            .map(|c| c.slug.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|slug| !known.contains_key(*slug))
            .collect();
        let new_slugs: Vec<String> = sqlx::query_scalar(sql::PREVIEW_CATEGORIES)
            .bind(&slugs)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let created = pending.iter().filter(|p| p.is_new).count() as u64;
        Ok(BatchWrite {
            created,
            updated: pending.len() as u64 - created,
            unchanged: (batch.len() - pending.len()) as u64,
            categories_created: new_slugs.len() as u64,
            categories_resolved: slugs.iter().map(|s| ((*s).to_owned(), None)).collect(),
            refused: Vec::new(),
            variants: VariantCounts::default(),
        })
    }
}

async fn classify(
    tx: &mut Transaction<'static, Postgres>,
    batch: &[PreparedProduct],
    seen_by: Option<Uuid>,
) -> Result<Vec<Pending>, StoreError> {
    let ids: Vec<&str> = batch
        .iter()
        .map(|p| p.product.external_id.as_str())
        .collect();
    let hashes: Vec<&[u8]> = batch.iter().map(|p| p.hash.as_bytes()).collect();
    let handles: Vec<&str> = batch.iter().map(|p| p.handle.as_str()).collect();
    let fingerprints: Vec<Option<&[u8]>> = batch
        .iter()
        .map(|p| p.record.as_ref().map(|f| f.as_bytes()))
        .collect();
    let rows: Vec<(i32, bool, bool, bool)> = sqlx::query_as(sql::CLASSIFY_PRODUCTS)
        .bind(seen_by)
        .bind(&ids)
        .bind(&hashes)
        .bind(&handles)
        .bind(&fingerprints)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(position, is_new, handle_taken, fingerprint_only)| Pending {
                position: position as usize,
                is_new,
                handle_taken,
                fingerprint_only,
            },
        )
        .collect())
}

/// Stores the record fingerprints of unchanged products that had none: their next full sync
/// needs no decoding. Writes no other column, and queues nothing for Medusa.
async fn refresh_fingerprints(
    tx: &mut Transaction<'static, Postgres>,
    batch: &[PreparedProduct],
    refreshed: &[&Pending],
) -> Result<(), StoreError> {
    if refreshed.is_empty() {
        return Ok(());
    }
    let (ids, fingerprints): (Vec<&str>, Vec<Option<&[u8]>>) = refreshed
        .iter()
        .map(|p| {
            let prepared = &batch[p.position];
            (
                prepared.product.external_id.as_str(),
                prepared.record.as_ref().map(|f| f.as_bytes()),
            )
        })
        .unzip();
    sqlx::query(sql::REFRESH_FINGERPRINTS)
        .bind(&ids)
        .bind(&fingerprints)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Makes sure the categories exist (sorted, so concurrent batches lock them in the same
/// order); returns how many it created and the id of each.
async fn ensure_categories(
    tx: &mut Transaction<'static, Postgres>,
    slugs: &[&str],
    names: &[String],
) -> Result<(u64, Vec<(String, i64)>), StoreError> {
    let mut rows: Vec<(String, i64, bool)> = sqlx::query_as(sql::ENSURE_CATEGORIES)
        .bind(slugs)
        .bind(names)
        .fetch_all(&mut **tx)
        .await?;
    if rows.len() < slugs.len() {
        let found: HashSet<&str> = rows.iter().map(|(slug, _, _)| slug.as_str()).collect();
        let unseen: Vec<&str> = slugs
            .iter()
            .copied()
            .filter(|s| !found.contains(s))
            .collect();
        let more: Vec<(String, i64, bool)> = sqlx::query_as(sql::CATEGORY_IDS)
            .bind(&unseen)
            .fetch_all(&mut **tx)
            .await?;
        rows.extend(more);
    }
    let created = rows.iter().filter(|(_, _, created)| *created).count() as u64;
    Ok((
        created,
        rows.into_iter().map(|(slug, id, _)| (slug, id)).collect(),
    ))
}
