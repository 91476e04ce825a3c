insert into sync_runs (id, request_id, mode, status, dry_run, reason, trace_id, started_at,
    heartbeat_at, attempt, resumed_from)
values ($1, $2, $3, 'running', $4, $5, $6, now(), now(), $7, $8)
on conflict (request_id) where status not in ('abandoned', 'interrupted') do nothing
