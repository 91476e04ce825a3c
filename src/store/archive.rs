//! Archiving: products a full sync did not see, or that the upstream answered 404 for, get
//! `archived_at` (a soft delete). Also the bookkeeping of which ids a run has seen.

use uuid::Uuid;

use super::{Store, StoreError};

const COUNT_LIVE: &str = "select count(*) from products where archived_at is null";

const COUNT_UNSEEN: &str = r#"
select count(*) from products p
where p.archived_at is null
    and not exists (
        select 1 from sync_run_seen s where s.run_id = $1 and s.external_id = p.external_id
    )
"#;

const ARCHIVE_UNSEEN: &str = r#"
update products p set archived_at = now(), last_synced_at = now(), updated_at = now()
where p.archived_at is null
    and not exists (
        select 1 from sync_run_seen s where s.run_id = $1 and s.external_id = p.external_id
    )
"#;

const ARCHIVE_IDS: &str = r#"
update products set archived_at = now(), last_synced_at = now(), updated_at = now()
where external_id = any($1) and archived_at is null
"#;

const COUNT_ARCHIVABLE_IDS: &str =
    "select count(*) from products where external_id = any($1) and archived_at is null";

const FORGET_SEEN: &str = "delete from sync_run_seen where run_id = $1";

impl Store {
    /// Live products, the base of the archive ratio guard.
    pub async fn live_products(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_LIVE).fetch_one(&self.pool).await?;
        Ok(n as u64)
    }

    /// Live products that run `run_id` has not seen.
    pub async fn unseen_products(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_UNSEEN)
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Archives every live product run `run_id` has not seen.
    pub async fn archive_unseen(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let done = sqlx::query(ARCHIVE_UNSEEN)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Archives the given products (gone upstream); with `dry_run`, only counts them.
    pub async fn archive_ids(&self, ids: &[String], dry_run: bool) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        if dry_run {
            let n: i64 = sqlx::query_scalar(COUNT_ARCHIVABLE_IDS)
                .bind(ids)
                .fetch_one(&self.pool)
                .await?;
            return Ok(n as u64);
        }
        let done = sqlx::query(ARCHIVE_IDS)
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Drops the seen-id bookkeeping of a run.
    pub async fn forget_seen(&self, run_id: Uuid) -> Result<(), StoreError> {
        sqlx::query(FORGET_SEEN)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
