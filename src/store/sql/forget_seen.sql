delete from sync_run_seen where run_id = any($1)
