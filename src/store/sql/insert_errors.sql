insert into sync_errors (run_id, product_id, batch, kind, message)
select $1, * from unnest($2::text[], $3::int8[], $4::text[], $5::text[])
