-- The live variants of the claimed products, and their archived ones Medusa still has, with
-- the Medusa variant each became and the hash Medusa last got.
select v.id, v.product_id, v.external_id, v.sku, v.barcode, v.title, v.options::text as options,
    v.stock, v.attributes::text as attributes, v.content_hash,
    v.archived_at is not null as archived, vl.medusa_variant_id, vl.pushed_hash
from product_variants v
left join medusa_variant_links vl on vl.variant_id = v.id
where v.product_id = any($1) and (v.archived_at is null or vl.variant_id is not null)
order by v.product_id, v.position, v.id
