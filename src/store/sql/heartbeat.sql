update sync_runs set heartbeat_at = now(), updated_at = now(), checkpoint = $2,
    fetched = $3, created = $4, updated = $5, unchanged = $6, archived = $7, failed = $8,
    categories_created = $9, batches_total = $10, batches_succeeded = $11, batches_failed = $12
where id = $1 and status = 'running'
