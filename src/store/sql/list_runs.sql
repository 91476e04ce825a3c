select id, request_id, mode, status, dry_run, reason, started_at, finished_at, fetched, created,
    updated, unchanged, archived, failed, categories_created, error, trace_id, attempt, resumed_from, summary
from sync_runs
where ($2::text is null or status = $2)
    and ($3::text is null or mode = $3)
    and ($4::timestamptz is null or started_at >= $4)
order by started_at desc
limit $1
