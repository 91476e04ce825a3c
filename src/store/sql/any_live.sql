select exists (select from products where archived_at is null)
