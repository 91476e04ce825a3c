insert into product_variants as v (
    product_id, external_id, sku, barcode, title, position, options, stock, attributes, content_hash
)
select product_id, external_id, sku, barcode, title, position, options::jsonb, stock,
    attributes::jsonb, content_hash
from unnest(
    $1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[], $8::int8[],
    $9::text[], $10::bytea[]
) as t(product_id, external_id, sku, barcode, title, position, options, stock, attributes, content_hash)
on conflict (product_id, external_id) do update set
    sku = excluded.sku,
    barcode = excluded.barcode,
    title = excluded.title,
    position = excluded.position,
    options = excluded.options,
    stock = excluded.stock,
    attributes = excluded.attributes,
    content_hash = excluded.content_hash,
    archived_at = null,
    updated_at = now()
where v.content_hash is distinct from excluded.content_hash or v.archived_at is not null
returning v.id, v.product_id, v.external_id, (v.xmax = 0) as inserted
