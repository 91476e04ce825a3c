select id, status, mode, dry_run, attempt, checkpoint, summary from sync_runs
where request_id = $1 order by started_at desc, attempt desc for update
