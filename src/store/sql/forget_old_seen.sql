delete from sync_run_seen where run_id in (
    select id from sync_runs
    where status in ('abandoned', 'interrupted') and finished_at < now() - interval '1 day'
)
