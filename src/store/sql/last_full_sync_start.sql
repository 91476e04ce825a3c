select max(started_at) from sync_runs
where mode = 'full' and status = 'succeeded' and not dry_run
