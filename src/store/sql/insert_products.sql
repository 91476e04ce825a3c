insert into products (
    external_id, handle, title, description, category_id, brand, sku, price, stock, tags, images,
    thumbnail, attributes, content_hash, source_updated_at, record_fingerprint, options
)
select
    external_id, handle, title, description, category_id, brand, sku, price::numeric, stock,
    string_to_array(tags, E'\x1f'), string_to_array(images, E'\x1f'), thumbnail,
    attributes::jsonb, content_hash, source_updated_at, record_fingerprint, options::jsonb
from unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[],
    $8::text[], $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[],
    $15::timestamptz[], $16::bytea[], $17::text[]
) as t(
    external_id, handle, title, description, category_id, brand, sku, price, stock, tags, images,
    thumbnail, attributes, content_hash, source_updated_at, record_fingerprint, options
)
returning id, external_id
