select id, request_id, mode, status, dry_run, reason, started_at, finished_at, fetched, created,
    updated, unchanged, archived, failed, categories_created, error, trace_id, attempt, resumed_from, summary
from sync_runs where id = $1
