//! The outbox of pushes owed: claims with a lease, and how each claimed product ends its push
//! (the product's link and its variants' links written, the row cleared or kept).

use std::time::Duration;

use super::super::{Store, StoreError, sql};

/// A queued product a pusher holds, at the generation it was claimed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub product_id: i64,
    pub generation: i64,
}

/// What Medusa now holds for a product after a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub product_id: i64,
    pub medusa_product_id: String,
    pub medusa_handle: String,
    pub pushed_hash: Vec<u8>,
    /// `published`, `draft` or `deleted`.
    pub pushed_status: &'static str,
    /// Every Medusa variant of the product now: they replace the product's variant links.
    pub variants: Vec<VariantLink>,
}

/// The Medusa variant a catalog variant became, as Medusa got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantLink {
    pub variant_id: i64,
    pub medusa_variant_id: String,
    pub pushed_hash: Vec<u8>,
}

/// How one claimed product ends its push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Medusa has it: the link is written and the row cleared (unless the product changed
    /// again meanwhile).
    Delivered(Link),
    /// Nothing to tell Medusa (an archived product it never had): the row is cleared.
    NothingOwed,
    /// The Medusa product of the link is gone: the link is marked `deleted` (its handle is
    /// kept) and the row stays, so the next claim creates the product again.
    LinkGone(String),
    /// Medusa refused this version of the product: kept, not pushed again until it changes.
    Refused(String),
    /// Not delivered for a reason that may pass (Medusa down): kept for the next drain.
    Failed(String),
}

impl Store {
    /// Claims up to `limit` owed products for `lease`.
    pub async fn claim_medusa(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        Ok(sqlx::query_as(sql::MEDUSA_CLAIM)
            .bind(limit as i64)
            .bind(lease.as_secs_f64())
            .fetch_all(&self.pool)
            .await?)
    }

    /// Books how each claimed product ended, in one transaction.
    pub async fn settle_medusa(&self, outcomes: &[(Claimed, Settled)]) -> Result<(), StoreError> {
        let mut links = LinkRows::default();
        let mut gone = Vec::new();
        let (mut done_ids, mut done_generations) = (Vec::new(), Vec::new());
        let mut kept = KeptRows::default();
        for (claimed, settled) in outcomes {
            match settled {
                Settled::Delivered(link) => {
                    links.push(link);
                    done_ids.push(claimed.product_id);
                    done_generations.push(claimed.generation);
                }
                Settled::NothingOwed => {
                    done_ids.push(claimed.product_id);
                    done_generations.push(claimed.generation);
                }
                Settled::LinkGone(why) => {
                    gone.push(claimed.product_id);
                    kept.push(claimed, Some(why), false);
                }
                Settled::Refused(why) => kept.push(claimed, Some(why), true),
                Settled::Failed(why) => kept.push(claimed, Some(why), false),
            }
            // Delivered rows of a product that changed meanwhile stay queued: release them too.
            if matches!(settled, Settled::Delivered(_) | Settled::NothingOwed) {
                kept.push(claimed, None, false);
            }
        }
        let mut tx = self.pool.begin().await?;
        if !links.product_ids.is_empty() {
            sqlx::query(sql::MEDUSA_UPSERT_LINKS)
                .bind(&links.product_ids)
                .bind(&links.medusa_product_ids)
                .bind(&links.handles)
                .bind(&links.hashes)
                .bind(&links.statuses)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql::MEDUSA_DROP_VARIANT_LINKS)
                .bind(&links.product_ids)
                .execute(&mut *tx)
                .await?;
            let v = &links.variants;
            if !v.variant_ids.is_empty() {
                sqlx::query(sql::MEDUSA_SETTLE_VARIANTS)
                    .bind(&v.variant_ids)
                    .bind(&v.product_ids)
                    .bind(&v.medusa_ids)
                    .bind(&v.hashes)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if !gone.is_empty() {
            sqlx::query(sql::MEDUSA_LINKS_GONE)
                .bind(&gone)
                .execute(&mut *tx)
                .await?;
        }
        if !done_ids.is_empty() {
            sqlx::query(sql::MEDUSA_DELETE_DONE)
                .bind(&done_ids)
                .bind(&done_generations)
                .execute(&mut *tx)
                .await?;
        }
        if !kept.product_ids.is_empty() {
            sqlx::query(sql::MEDUSA_RELEASE)
                .bind(&kept.product_ids)
                .bind(&kept.errors)
                .bind(&kept.refused)
                .bind(&kept.generations)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lets go of claimed rows without a verdict (the pusher stops), so another takes them at once.
    pub async fn release_medusa(&self, claimed: &[Claimed], why: &str) -> Result<(), StoreError> {
        let outcomes: Vec<(Claimed, Settled)> = claimed
            .iter()
            .map(|c| (*c, Settled::Failed(why.to_owned())))
            .collect();
        self.settle_medusa(&outcomes).await
    }

    /// Keeps holding claimed rows for `lease` more: a pusher that works on them is alive.
    pub async fn extend_medusa_claims(
        &self,
        product_ids: &[i64],
        lease: Duration,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::MEDUSA_EXTEND_CLAIMS)
            .bind(product_ids)
            .bind(lease.as_secs_f64())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Links to write, one array per column.
#[derive(Default)]
struct LinkRows {
    product_ids: Vec<i64>,
    medusa_product_ids: Vec<String>,
    handles: Vec<String>,
    hashes: Vec<Vec<u8>>,
    statuses: Vec<&'static str>,
    variants: VariantLinkRows,
}

/// Variant links to write, one array per column.
#[derive(Default)]
struct VariantLinkRows {
    variant_ids: Vec<i64>,
    product_ids: Vec<i64>,
    medusa_ids: Vec<String>,
    hashes: Vec<Vec<u8>>,
}

impl LinkRows {
    fn push(&mut self, link: &Link) {
        self.product_ids.push(link.product_id);
        self.medusa_product_ids.push(link.medusa_product_id.clone());
        for v in &link.variants {
            self.variants.variant_ids.push(v.variant_id);
            self.variants.product_ids.push(link.product_id);
            self.variants.medusa_ids.push(v.medusa_variant_id.clone());
            self.variants.hashes.push(v.pushed_hash.clone());
        }
        self.handles.push(link.medusa_handle.clone());
        self.hashes.push(link.pushed_hash.clone());
        self.statuses.push(link.pushed_status);
    }
}

/// Outbox rows to release, one array per column.
#[derive(Default)]
struct KeptRows {
    product_ids: Vec<i64>,
    errors: Vec<Option<String>>,
    refused: Vec<bool>,
    generations: Vec<i64>,
}

impl KeptRows {
    fn push(&mut self, claimed: &Claimed, error: Option<&String>, refused: bool) {
        self.product_ids.push(claimed.product_id);
        self.errors.push(error.cloned());
        self.refused.push(refused);
        self.generations.push(claimed.generation);
    }
}
