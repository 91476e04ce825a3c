insert into medusa_links (product_id, medusa_product_id, medusa_handle, pushed_hash, pushed_status)
select * from unnest($1::int8[], $2::text[], $3::text[], $4::bytea[], $5::text[])
on conflict (product_id) do update set
    medusa_product_id = excluded.medusa_product_id,
    medusa_handle = excluded.medusa_handle,
    pushed_hash = excluded.pushed_hash,
    pushed_status = excluded.pushed_status,
    pushed_at = now()
