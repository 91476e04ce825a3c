update sync_runs set changes_since = $2 where id = $1
