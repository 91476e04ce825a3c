-- The claimed products as Medusa gets them, with their category and what Medusa already has.
select p.id, p.external_id, p.handle, p.title, p.description, p.brand, p.sku,
    p.price::text as price, p.stock, p.tags, p.images, p.thumbnail,
    p.attributes::text as attributes, p.content_hash, p.source_updated_at,
    p.archived_at is not null as archived,
    c.id as category_id, c.slug as category_slug, c.name as category_name,
    l.medusa_product_id, l.medusa_variant_id, l.medusa_handle,
    l.pushed_status
from products p
left join categories c on c.id = p.category_id
left join medusa_links l on l.product_id = p.id
where p.id = any($1)
order by p.id
