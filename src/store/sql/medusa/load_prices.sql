-- The prices of the live variants of the claimed products.
select vp.variant_id, vp.currency, vp.kind, vp.amount::text as amount, vp.starts_at, vp.ends_at
from variant_prices vp
join product_variants v on v.id = vp.variant_id
where v.product_id = any($1) and v.archived_at is null
order by vp.variant_id, vp.currency, vp.kind
