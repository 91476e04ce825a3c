//! Run records: a `sync_runs` row from start to end, its `sync_errors`, and reading them back.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::{ErrorKind, RunError, RunMode, RunSummary};

/// Most `sync_errors` rows kept per run, so a catalog full of bad products cannot flood the table.
pub const MAX_STORED_ERRORS: u64 = 1000;

/// A run about to start.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub run_id: Uuid,
    pub request_id: &'a str,
    pub mode: RunMode,
    pub dry_run: bool,
    pub reason: Option<&'a str>,
    pub trace_id: Option<&'a str>,
}

/// What starting a run found.
#[derive(Debug)]
pub enum RunStart {
    /// A run row is open under this id (new, or an interrupted run of the same request taken over).
    Started(Uuid),
    /// The request already ran to the end; here is what it produced.
    Finished(Box<RunSummary>),
}

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
    pub summary: Option<Json<RunSummary>>,
}

const INSERT_RUN: &str = r#"
insert into sync_runs (id, request_id, mode, status, dry_run, reason, trace_id, started_at)
values ($1, $2, $3, 'running', $4, $5, $6, now())
on conflict (request_id) do nothing
"#;

const FIND_RUN_BY_REQUEST: &str = "select id, status, summary from sync_runs where request_id = $1";

const RESTART_RUN: &str = r#"
update sync_runs set
    status = 'running', mode = $2, dry_run = $3, reason = $4, trace_id = $5, started_at = now(),
    finished_at = null, fetched = 0, created = 0, updated = 0, unchanged = 0, archived = 0,
    failed = 0, categories_created = 0, batches_total = 0, batches_succeeded = 0,
    batches_failed = 0, checkpoint = null, error = null, summary = null, updated_at = now()
where id = $1
"#;

const CLEAR_RUN_ERRORS: &str = "delete from sync_errors where run_id = $1";

const RECORD_PROGRESS: &str = r#"
update sync_runs set checkpoint = jsonb_build_object('processed', $2::int8, 'total', $3::int8),
    updated_at = now()
where id = $1
"#;

const INSERT_ERRORS: &str = r#"
insert into sync_errors (run_id, product_id, batch, kind, message)
select $1, * from unnest($2::text[], $3::int8[], $4::text[], $5::text[])
"#;

const FINISH_RUN: &str = r#"
update sync_runs set
    status = $2, finished_at = $3, fetched = $4, created = $5, updated = $6, unchanged = $7,
    archived = $8, failed = $9, categories_created = $10, batches_total = $11,
    batches_succeeded = $12, batches_failed = $13, error = $14, summary = $15, checkpoint = null,
    updated_at = now()
where id = $1
"#;

const INTERRUPT_RUN: &str = r#"
update sync_runs set status = 'interrupted', updated_at = now() where id = $1 and status = 'running'
"#;

const FULL_SYNC_SUCCEEDED_SINCE: &str = r#"
select exists (
    select 1 from sync_runs
    where mode = 'full' and status = 'succeeded' and not dry_run and started_at > $1 and id <> $2
)
"#;

const LIST_RUNS: &str = r#"
select id, request_id, mode, status, dry_run, reason, started_at, finished_at, fetched, created,
    updated, unchanged, archived, failed, categories_created, error, trace_id, summary
from sync_runs order by started_at desc limit $1
"#;

const GET_RUN: &str = r#"
select id, request_id, mode, status, dry_run, reason, started_at, finished_at, fetched, created,
    updated, unchanged, archived, failed, categories_created, error, trace_id, summary
from sync_runs where id = $1
"#;

const GET_RUN_ERRORS: &str = r#"
select product_id, batch, kind, message from sync_errors where run_id = $1 order by id limit $2
"#;

impl Store {
    /// Opens the run row for a request. A request id is unique: a finished run is returned as is,
    /// an interrupted or abandoned one is taken over and starts again from a clean slate.
    pub async fn begin_run(&self, run: &NewRun<'_>) -> Result<RunStart, StoreError> {
        let inserted = sqlx::query(INSERT_RUN)
            .bind(run.run_id)
            .bind(run.request_id)
            .bind(run.mode.as_str())
            .bind(run.dry_run)
            .bind(run.reason)
            .bind(run.trace_id)
            .execute(&self.pool)
            .await?;
        if inserted.rows_affected() == 1 {
            return Ok(RunStart::Started(run.run_id));
        }
        let (id, status, summary): (Uuid, String, Option<Json<RunSummary>>) =
            sqlx::query_as(FIND_RUN_BY_REQUEST)
                .bind(run.request_id)
                .fetch_one(&self.pool)
                .await?;
        if let Some(Json(summary)) =
            summary.filter(|_| status != "running" && status != "interrupted")
        {
            return Ok(RunStart::Finished(Box::new(summary)));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(RESTART_RUN)
            .bind(id)
            .bind(run.mode.as_str())
            .bind(run.dry_run)
            .bind(run.reason)
            .bind(run.trace_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(CLEAR_RUN_ERRORS)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.forget_seen(id).await?;
        Ok(RunStart::Started(id))
    }

    /// Records how far a running run is, for `catalog-sync runs` while it runs.
    pub async fn record_progress(
        &self,
        run_id: Uuid,
        processed: u64,
        total: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(RECORD_PROGRESS)
            .bind(run_id)
            .bind(processed as i64)
            .bind(total as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores failures of a run.
    pub async fn record_errors(&self, run_id: Uuid, errors: &[RunError]) -> Result<(), StoreError> {
        if errors.is_empty() {
            return Ok(());
        }
        let product_ids: Vec<Option<&str>> =
            errors.iter().map(|e| e.product_id.as_deref()).collect();
        let batches: Vec<Option<i64>> = errors.iter().map(|e| e.batch.map(|b| b as i64)).collect();
        let kinds: Vec<&str> = errors.iter().map(|e| e.kind.as_str()).collect();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        sqlx::query(INSERT_ERRORS)
            .bind(run_id)
            .bind(&product_ids)
            .bind(&batches)
            .bind(&kinds)
            .bind(&messages)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the run row with its summary.
    pub async fn finish_run(
        &self,
        summary: &RunSummary,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let c = &summary.counts;
        let b = &summary.batches;
        sqlx::query(FINISH_RUN)
            .bind(summary.run_id)
            .bind(summary.status.as_str())
            .bind(summary.finished_at)
            .bind(c.fetched as i64)
            .bind(c.created as i64)
            .bind(c.updated as i64)
            .bind(c.unchanged as i64)
            .bind(c.archived as i64)
            .bind(c.failed as i64)
            .bind(c.categories_created as i64)
            .bind(b.total as i64)
            .bind(b.succeeded as i64)
            .bind(b.failed as i64)
            .bind(error)
            .bind(Json(summary))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a run stopped before its end, so the same request may run again.
    pub async fn interrupt_run(&self, run_id: Uuid) -> Result<(), StoreError> {
        sqlx::query(INTERRUPT_RUN)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a full sync that started after `at` has succeeded (other than run `except`).
    pub async fn full_sync_succeeded_since(
        &self,
        at: DateTime<Utc>,
        except: Uuid,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(FULL_SYNC_SUCCEEDED_SINCE)
            .bind(at)
            .bind(except)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The newest runs first.
    pub async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        Ok(sqlx::query_as(LIST_RUNS)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    /// One run and its first stored errors.
    pub async fn get_run(
        &self,
        run_id: Uuid,
    ) -> Result<Option<(RunRecord, Vec<RunError>)>, StoreError> {
        let Some(record) = sqlx::query_as::<_, RunRecord>(GET_RUN)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let rows: Vec<(Option<String>, Option<i64>, String, String)> =
            sqlx::query_as(GET_RUN_ERRORS)
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
