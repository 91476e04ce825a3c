insert into product_variants (
    product_id, external_id, sku, barcode, title, position, options, stock, attributes, content_hash
)
select product_id, external_id, sku, barcode, title, position, options::jsonb, stock,
    attributes::jsonb, content_hash
from unnest(
    $1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[], $8::int8[],
    $9::text[], $10::bytea[]
) as t(product_id, external_id, sku, barcode, title, position, options, stock, attributes, content_hash)
returning id, product_id, external_id, true
