select product_id, batch, kind, message from sync_errors where run_id = $1 order by id limit $2
