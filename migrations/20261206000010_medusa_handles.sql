-- The handle each product has in Medusa, assigned at its first push and kept from then on (the
-- catalog's own rule: storefront URLs do not break). A product Medusa deleted keeps its link,
-- marked `deleted`, so it comes back under the same handle.
alter table medusa_links add column medusa_handle text;

-- Links made before were pushed with the catalog handle's `--` collapsed to `-`: that is the
-- handle they have in Medusa, and they keep it. Products pushed from now on get a rendering
-- that never makes two catalog handles one (`lamp--17` becomes `lamp-id-17`).
update medusa_links l
set medusa_handle = regexp_replace(p.handle, '-{2,}', '-', 'g')
from products p
where p.id = l.product_id;

alter table medusa_links alter column medusa_handle set not null;
