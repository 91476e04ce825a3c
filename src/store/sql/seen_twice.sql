select count(*) - count(distinct external_id) from sync_run_seen where run_id = $1 and kind = 0
