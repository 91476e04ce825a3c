update products as p set
    title = u.title,
    description = u.description,
    category_id = u.category_id,
    brand = u.brand,
    sku = u.sku,
    price = u.price::numeric,
    stock = u.stock,
    tags = string_to_array(u.tags, E'\x1f'),
    images = string_to_array(u.images, E'\x1f'),
    thumbnail = u.thumbnail,
    attributes = u.attributes::jsonb,
    content_hash = u.content_hash,
    source_updated_at = u.source_updated_at,
    record_fingerprint = u.record_fingerprint,
    options = u.options::jsonb,
    last_synced_at = now(),
    archived_at = null,
    updated_at = now()
from unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[],
    $8::text[], $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[],
    $15::timestamptz[], $16::bytea[], $17::text[]
) as u(
    external_id, handle, title, description, category_id, brand, sku, price, stock, tags, images,
    thumbnail, attributes, content_hash, source_updated_at, record_fingerprint, options
)
where p.external_id = u.external_id
    and (p.content_hash is distinct from u.content_hash or p.archived_at is not null)
    and not ($18::bool
        and p.source_updated_at is not null
        and p.source_updated_at <= now() + make_interval(secs => $20::float8)
        and u.source_updated_at is not null
        and u.source_updated_at < p.source_updated_at)
    and not ($19::bool
        and p.archived_at is not null
        and p.source_updated_at is not null
        and p.source_updated_at <= now() + make_interval(secs => $20::float8)
        and (u.source_updated_at is null or u.source_updated_at <= p.source_updated_at))
returning p.id, p.external_id
