-- The claimed products as Medusa gets them, with what Medusa already has of them.
select p.id, p.external_id, p.handle, p.title, p.description, p.brand, p.tags, p.images,
    p.thumbnail, p.attributes::text as attributes, p.options::text as options, p.content_hash,
    p.source_updated_at, p.archived_at is not null as archived,
    l.medusa_product_id, l.medusa_handle, l.pushed_status
from products p
left join medusa_links l on l.product_id = p.id
where p.id = any($1)
order by p.id
