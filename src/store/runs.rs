//! Run records: a `sync_runs` row per attempt from start to end, its heartbeat and checkpoint
//! while it goes, and its `sync_errors`. An attempt whose process died is marked `abandoned`
//! (it keeps the counts it had recorded), never overwritten; the next attempt of the same
//! request is a new row that can resume from the checkpoint of the one before.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::sql;
use super::{Store, StoreError};
use crate::domain::{BatchCounts, Counts, RunError, RunMode, RunSummary};

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
    /// A new attempt is open under `run_id`. `previous` is the attempt of the same request that
    /// came before (interrupted, or abandoned by a process that died), when there was one.
    Started {
        run_id: Uuid,
        attempt: i32,
        previous: Option<PreviousAttempt>,
    },
    /// The request already ran to the end; here is what it produced.
    Finished(Box<RunSummary>),
}

/// The attempt before this one, and how far it got.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviousAttempt {
    pub run_id: Uuid,
    pub mode: RunMode,
    pub dry_run: bool,
    pub checkpoint: Option<Checkpoint>,
}

/// How far a running run is, saved with every heartbeat (`sync_runs.checkpoint`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Products handled so far.
    pub processed: u64,
    /// Products the run expects.
    pub total: u64,
    /// For a full sync: how much of the listing is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<ListingCheckpoint>,
}

/// The committed prefix of a full sync's listing: every product before `skip` is written and
/// recorded as seen, by one of `seen_runs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListingCheckpoint {
    /// The listing offset the next attempt resumes at.
    pub skip: u64,
    /// The id at offset `skip - 1`, which the next attempt's first page must start with if the
    /// listing did not move in between.
    pub last_id: Option<String>,
    /// The listing's `total` when the checkpoint was taken.
    pub total: u64,
    /// Every attempt whose seen ids count for this sync (this one and those it resumed).
    pub seen_runs: Vec<Uuid>,
}

/// What a running run has done so far: written to its row by each heartbeat, so a run whose
/// process dies is left with a record of its work.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunProgress {
    pub counts: Counts,
    pub batches: BatchCounts,
    pub checkpoint: Checkpoint,
}

type RequestRun = (
    Uuid,
    String,
    String,
    bool,
    i32,
    Option<Json<Checkpoint>>,
    Option<Json<RunSummary>>,
);

impl Store {
    /// Opens a new attempt for a request. A request that ran to its end gets its summary back.
    /// An attempt still marked running belongs to a process that died (the request came back to
    /// us, or the caller retries it): it is marked abandoned, keeping what it had recorded. The
    /// newest earlier attempt is returned so the new one can resume from its checkpoint.
    pub async fn begin_run(&self, run: &NewRun<'_>) -> Result<RunStart, StoreError> {
        // A concurrent first attempt of the same request can win the insert; the second pass
        // then sees its row like any other.
        for _ in 0..3 {
            let mut tx = self.pool.begin().await?;
            let rows: Vec<RequestRun> = sqlx::query_as(sql::LOCK_REQUEST_RUNS)
                .bind(run.request_id)
                .fetch_all(&mut *tx)
                .await?;
            let finished = rows.iter().find(|(_, status, ..)| is_final(status));
            if let Some((_, _, _, _, _, _, Some(Json(summary)))) = finished {
                return Ok(RunStart::Finished(Box::new(summary.clone())));
            }
            sqlx::query(sql::ABANDON_REQUEST_RUNS)
                .bind(run.request_id)
                .execute(&mut *tx)
                .await?;
            let previous = rows
                .first()
                .map(|(id, _, mode, dry_run, _, checkpoint, _)| PreviousAttempt {
                    run_id: *id,
                    mode: RunMode::parse(mode).unwrap_or(run.mode),
                    dry_run: *dry_run,
                    checkpoint: checkpoint.as_ref().map(|Json(c)| c.clone()),
                });
            let attempt = rows
                .first()
                .map_or(1, |(_, _, _, _, attempt, ..)| attempt + 1);
            let inserted = sqlx::query(sql::INSERT_RUN)
                .bind(run.run_id)
                .bind(run.request_id)
                .bind(run.mode.as_str())
                .bind(run.dry_run)
                .bind(run.reason)
                .bind(run.trace_id)
                .bind(attempt)
                .bind(previous.as_ref().map(|p| p.run_id))
                .execute(&mut *tx)
                .await?;
            if inserted.rows_affected() == 1 {
                tx.commit().await?;
                return Ok(RunStart::Started {
                    run_id: run.run_id,
                    attempt,
                    previous,
                });
            }
            tx.rollback().await?;
        }
        Err(StoreError::Config(format!(
            "request {} is being started by another process at the same time",
            run.request_id
        )))
    }

    /// Records that a run is alive and how far it is. `false` when the row is no longer
    /// running: another process declared this attempt abandoned and may be running the request.
    pub async fn heartbeat(
        &self,
        run_id: Uuid,
        progress: &RunProgress,
    ) -> Result<bool, StoreError> {
        let done = bind_progress(sqlx::query(sql::HEARTBEAT).bind(run_id), progress)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks runs whose heartbeat is older than `stale_after` abandoned, and forgets the
    /// seen-id lists of attempts that ended more than a day ago. Returns how many runs it marked.
    pub async fn sweep_stale_runs(&self, stale_after: Duration) -> Result<u64, StoreError> {
        let marked = sqlx::query(sql::SWEEP_STALE)
            .bind(stale_after.as_secs_f64())
            .execute(&self.pool)
            .await?
            .rows_affected();
        sqlx::query(sql::FORGET_OLD_SEEN)
            .execute(&self.pool)
            .await?;
        Ok(marked)
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
        sqlx::query(sql::INSERT_ERRORS)
            .bind(run_id)
            .bind(&product_ids)
            .bind(&batches)
            .bind(&kinds)
            .bind(&messages)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the run row with its summary. `false` when the row was no longer running (another
    /// process declared it abandoned): the summary is then not recorded.
    pub async fn finish_run(
        &self,
        summary: &RunSummary,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(sql::FINISH_RUN)
            .bind(summary.run_id)
            .bind(summary.status.as_str())
            .bind(summary.finished_at);
        let done = bind_counts(query, &summary.counts, &summary.batches)
            .bind(error)
            .bind(Json(summary))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a run stopped before its end, with what it had done and its checkpoint, so the
    /// next attempt of the same request can resume.
    pub async fn interrupt_run(
        &self,
        run_id: Uuid,
        progress: &RunProgress,
    ) -> Result<(), StoreError> {
        bind_progress(sqlx::query(sql::INTERRUPT_RUN).bind(run_id), progress)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a full sync that started after `at` has succeeded (other than run `except`).
    /// When the last succeeded full run started, if one did.
    pub async fn last_full_sync_start(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar(sql::LAST_FULL_SYNC_START)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records the lower bound the `changes` run `run_id` listed from.
    pub async fn set_changes_since(
        &self,
        run_id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SET_CHANGES_SINCE)
            .bind(run_id)
            .bind(since)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn full_sync_succeeded_since(
        &self,
        at: DateTime<Utc>,
        except: Uuid,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(sql::FULL_SYNC_SUCCEEDED_SINCE)
            .bind(at)
            .bind(except)
            .fetch_one(&self.pool)
            .await?)
    }
}

/// Statuses of a run that went to its end: its request never runs again.
fn is_final(status: &str) -> bool {
    matches!(status, "succeeded" | "partial" | "failed" | "skipped")
}

/// Binds `$2` (checkpoint) to `$12` (batch counts) of the heartbeat and interrupt statements.
fn bind_progress<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    progress: &'q RunProgress,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    bind_counts(
        query.bind(Json(&progress.checkpoint)),
        &progress.counts,
        &progress.batches,
    )
}

/// Binds the ten count columns, `fetched` to `batches_failed`, in the statements' order.
fn bind_counts<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    c: &Counts,
    b: &BatchCounts,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_without_a_listing_keeps_the_old_shape() {
        let json = serde_json::to_value(Checkpoint {
            processed: 3,
            total: 9,
            listing: None,
        })
        .unwrap();
        assert_eq!(json, serde_json::json!({"processed": 3, "total": 9}));
        let back: Checkpoint = serde_json::from_value(json).unwrap();
        assert_eq!(back.listing, None);
    }

    #[test]
    fn only_ended_runs_are_final() {
        for status in ["succeeded", "partial", "failed", "skipped"] {
            assert!(is_final(status));
        }
        for status in ["running", "interrupted", "abandoned"] {
            assert!(!is_final(status));
        }
    }
}
