//! Archiving: products the upstream confirmed gone, or that events or targeted syncs report gone,
//! get `archived_at` (a soft delete). Also the scratch lists a full sync keeps in
//! `sync_run_seen`: the ids its listing served, the ids an id-only listing served, and the ids
//! the item endpoint answered 404 for.
//!
//! A product changed by anything since the run started (its `last_synced_at` is newer) is never
//! archived by the run: an event applied meanwhile is newer knowledge than the run's listing.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql;
use super::{Store, StoreError};

/// What a `sync_run_seen` row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i16)]
pub enum SeenKind {
    /// An id the run's listing served (written in the same transaction as the product).
    Listed = 0,
    /// An id an id-only listing served, while confirming candidates.
    IdListed = 1,
    /// An id the item endpoint answered 404 for.
    Gone = 2,
}

/// Where the candidates of a full sync's archive step stand.
#[derive(Clone, Copy, Debug)]
pub struct Candidates<'a> {
    /// Attempts whose listing counts for this sync (the run and those it resumed).
    pub seen_runs: &'a [Uuid],
    /// The run itself: its start bounds what it may archive.
    pub run_id: Uuid,
    /// Whether the run's id-only listing also counts.
    pub after_id_listing: bool,
}

impl Candidates<'_> {
    fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.seen_runs)
            .bind(self.after_id_listing.then_some(self.run_id))
            .bind(self.run_id)
    }
}

impl Store {
    /// Live products, the base of the archive ratio guard.
    pub async fn live_products(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(sql::COUNT_LIVE)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// A transaction for a statement over the candidate set: every id of the catalog against
    /// every id the listing served.
    async fn candidates_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::CANDIDATES_SETTINGS)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Whether the catalog holds any live product.
    pub async fn any_live_products(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(sql::ANY_LIVE)
            .fetch_one(&self.pool)
            .await?)
    }

    /// How many live products the listing did not serve (candidates for archiving).
    pub async fn count_candidates(&self, c: &Candidates<'_>) -> Result<u64, StoreError> {
        let mut tx = self.candidates_transaction().await?;
        let n: i64 = c
            .bind(sqlx::query(sql::COUNT_CANDIDATES))
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| sqlx::Row::try_get(&row, 0))?;
        tx.commit().await?;
        Ok(n as u64)
    }

    /// The next `limit` candidates after `after`, in id order.
    pub async fn candidate_ids(
        &self,
        c: &Candidates<'_>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.candidates_transaction().await?;
        let rows = c
            .bind(sqlx::query(sql::CANDIDATE_IDS))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| sqlx::Row::try_get(row, 0).map_err(StoreError::from))
            .collect()
    }

    /// Archives every candidate: the listing and a consistent id-only listing both left them out.
    pub async fn archive_candidates(&self, c: &Candidates<'_>) -> Result<u64, StoreError> {
        let mut tx = self.candidates_transaction().await?;
        let done = c
            .bind(sqlx::query(sql::ARCHIVE_CANDIDATES))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Adds ids to run `run_id`'s scratch list.
    pub async fn record_ids(
        &self,
        run_id: Uuid,
        kind: SeenKind,
        ids: &[&str],
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(sql::RECORD_IDS)
            .bind(run_id)
            .bind(ids)
            .bind(kind as i16)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Live products the item endpoint answered 404 for during `run_id`.
    pub async fn count_gone(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(sql::COUNT_GONE)
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Archives the products the item endpoint answered 404 for during `run_id`.
    pub async fn archive_gone(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::ARCHIVE_GONE)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// How many ids run `run_id`'s listing served more than once.
    pub async fn seen_twice(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(sql::SEEN_TWICE)
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    /// Archives the given products (gone upstream); with `dry_run`, only counts them.
    pub async fn archive_ids(&self, ids: &[String], dry_run: bool) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        if dry_run {
            let n: i64 = sqlx::query_scalar(sql::COUNT_ARCHIVABLE_IDS)
                .bind(ids)
                .fetch_one(&self.pool)
                .await?;
            return Ok(n as u64);
        }
        let done = sqlx::query(sql::ARCHIVE_IDS)
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
            let n: i64 = sqlx::query_scalar(sql::COUNT_ARCHIVABLE_EVENTS)
                .bind(&ids)
                .bind(&times)
                .fetch_one(&self.pool)
                .await?;
            return Ok(n as u64);
        }
        let done = sqlx::query(sql::ARCHIVE_EVENTS)
            .bind(&ids)
            .bind(&times)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Drops the scratch lists of these attempts.
    pub async fn forget_seen(&self, run_ids: &[Uuid]) -> Result<(), StoreError> {
        sqlx::query(sql::FORGET_SEEN)
            .bind(run_ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
