-- The Medusa variants of delivered products, written after `MEDUSA_DROP_VARIANT_LINKS` cleared
-- theirs: each delivered product's links are what Medusa has now.
insert into medusa_variant_links (variant_id, product_id, medusa_variant_id, pushed_hash)
select * from unnest($1::int8[], $2::int8[], $3::text[], $4::bytea[])
