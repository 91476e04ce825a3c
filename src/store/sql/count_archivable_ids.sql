select count(*) from products where external_id = any($1) and archived_at is null
