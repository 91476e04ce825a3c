select count(*) from products where archived_at is null
