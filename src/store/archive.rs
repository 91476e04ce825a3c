//! Archiving: products a full sync did not see, or that the upstream answered 404 for, get
//! `archived_at` (a soft delete). Also the bookkeeping of which ids a run has seen.

use chrono::{DateTime, Utc};
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

/// Archives products named by events, unless the stored product changed after the event.
const ARCHIVE_EVENTS: &str = r#"
update products p set archived_at = now(), last_synced_at = now(), updated_at = now(),
    source_updated_at = coalesce(u.at, p.source_updated_at)
from unnest($1::text[], $2::timestamptz[]) as u(external_id, at)
where p.external_id = u.external_id and p.archived_at is null
    and (u.at is null or p.source_updated_at is null or u.at >= p.source_updated_at)
"#;

const COUNT_ARCHIVABLE_EVENTS: &str = r#"
select count(*) from products p
join unnest($1::text[], $2::timestamptz[]) as u(external_id, at) on p.external_id = u.external_id
where p.archived_at is null
    and (u.at is null or p.source_updated_at is null or u.at >= p.source_updated_at)
"#;

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

    /// Archives products named by deletion events (or 404s), each with the time the event says
    /// it happened: a product stored with a newer `source_updated_at` stays. With `dry_run`,
    /// only counts them.
    pub async fn archive_events(
        &self,
        events: &[(String, Option<DateTime<Utc>>)],
        dry_run: bool,
    ) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
        let times: Vec<Option<DateTime<Utc>>> = events.iter().map(|(_, at)| *at).collect();
        if dry_run {
            let n: i64 = sqlx::query_scalar(COUNT_ARCHIVABLE_EVENTS)
                .bind(&ids)
                .bind(&times)
                .fetch_one(&self.pool)
                .await?;
            return Ok(n as u64);
        }
        let done = sqlx::query(ARCHIVE_EVENTS)
            .bind(&ids)
            .bind(&times)
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
