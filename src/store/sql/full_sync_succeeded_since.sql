select exists (
    select 1 from sync_runs
    where mode = 'full' and status = 'succeeded' and not dry_run and started_at > $1 and id <> $2
)
