update products set archived_at = now(), last_synced_at = now(), updated_at = now()
where external_id = any($1) and archived_at is null
