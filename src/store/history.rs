//! Reading run records back: the newest runs, one run with its stored errors.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::runs::MAX_STORED_ERRORS;
use super::sql;
use super::{Store, StoreError};
use crate::domain::{ErrorKind, RunError, RunSummary};

/// A row of `sync_runs`, for `catalog-sync runs`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RunRecord {
    pub id: Uuid,
    pub request_id: String,
    pub mode: String,
    pub status: String,
    pub dry_run: bool,
    pub reason: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub archived: i64,
    pub failed: i64,
    pub categories_created: i64,
    pub error: Option<String>,
    pub trace_id: Option<String>,
    /// 1 for a request's first attempt.
    pub attempt: i32,
    /// The attempt this one resumed from.
    pub resumed_from: Option<Uuid>,
    pub summary: Option<Json<RunSummary>>,
}

/// The newest succeeded run of a mode.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LastSuccess {
    pub mode: String,
    #[sqlx(rename = "id")]
    pub run_id: Uuid,
    pub request_id: String,
    pub finished_at: DateTime<Utc>,
}

/// The newest run of a mode that the scheduler requested.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduledRun {
    pub mode: String,
    pub request_id: String,
    /// What the scheduler wrote in the request: the schedule it runs.
    pub reason: String,
}

/// A run going on now.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RunningRun {
    pub id: Uuid,
    pub request_id: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub checkpoint: Option<Json<super::Checkpoint>>,
}

/// Which runs `catalog-sync runs` lists.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub status: Option<String>,
    pub mode: Option<String>,
    /// Started at or after.
    pub since: Option<DateTime<Utc>>,
}

/// The fewest characters of a run id that `find_runs` takes as its start: fewer would match
/// runs by chance, and a short request id such as `1` would be taken for one.
pub const MIN_RUN_ID_PREFIX: usize = 4;

impl Store {
    /// The newest runs first, at most `limit`, those `filter` keeps.
    pub async fn list_runs(
        &self,
        limit: u32,
        filter: &RunFilter,
    ) -> Result<Vec<RunRecord>, StoreError> {
        Ok(sqlx::query_as(sql::LIST_RUNS)
            .bind(i64::from(limit))
            .bind(filter.status.as_deref())
            .bind(filter.mode.as_deref())
            .bind(filter.since)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The newest succeeded run (not a dry run) of each mode.
    pub async fn last_successes(&self) -> Result<Vec<LastSuccess>, StoreError> {
        Ok(sqlx::query_as(sql::LAST_SUCCESSES)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The newest run of each mode whose request id starts with `prefix` (the scheduler's).
    pub async fn last_scheduled(&self, prefix: &str) -> Result<Vec<ScheduledRun>, StoreError> {
        Ok(sqlx::query_as(sql::LAST_SCHEDULED)
            .bind(prefix)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The runs marked running, oldest first.
    pub async fn running_runs(&self) -> Result<Vec<RunningRun>, StoreError> {
        Ok(sqlx::query_as(sql::RUNNING_RUNS)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The runs `key` names: a run id or the start of one, or a request id (all its
    /// attempts), newest first.
    pub async fn find_runs(&self, key: &str) -> Result<Vec<RunRecord>, StoreError> {
        // Only a run id's characters may be a prefix; anything else is a request id only.
        let prefix = (key.len() >= MIN_RUN_ID_PREFIX
            && key.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .then(|| key.to_ascii_lowercase());
        Ok(sqlx::query_as(sql::FIND_RUNS)
            .bind(prefix)
            .bind(key)
            .fetch_all(&self.pool)
            .await?)
    }

    /// One run and its first stored errors.
    pub async fn get_run(
        &self,
        run_id: Uuid,
    ) -> Result<Option<(RunRecord, Vec<RunError>)>, StoreError> {
        let Some(record) = sqlx::query_as::<_, RunRecord>(sql::GET_RUN)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let rows: Vec<(Option<String>, Option<i64>, String, String)> =
            sqlx::query_as(sql::GET_RUN_ERRORS)
                .bind(run_id)
                .bind(MAX_STORED_ERRORS as i64)
                .fetch_all(&self.pool)
                .await?;
        let errors = rows
            .into_iter()
            .filter_map(|(product_id, batch, kind, message)| {
                Some(RunError {
                    product_id,
                    batch: batch.map(|b| b as u64),
                    kind: ErrorKind::parse(&kind)?,
                    message,
                })
            })
            .collect();
        Ok(Some((record, errors)))
    }
}
