select id, request_id, mode, status, dry_run, reason, started_at, finished_at, fetched, created,
    updated, unchanged, archived, failed, categories_created, error, trace_id, attempt, resumed_from, summary
from sync_runs
where ($1::text is not null and id::text like $1 || '%') or request_id = $2
order by started_at desc
limit 10
