update sync_runs set
    status = $2, finished_at = $3, fetched = $4, created = $5, updated = $6, unchanged = $7,
    archived = $8, failed = $9, categories_created = $10, batches_total = $11,
    batches_succeeded = $12, batches_failed = $13, error = $14, summary = $15, checkpoint = null,
    heartbeat_at = now(), updated_at = now()
where id = $1 and status = 'running'
