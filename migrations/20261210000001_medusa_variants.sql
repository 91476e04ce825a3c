-- The Medusa variant each catalog variant became (README "Sync into Medusa"): variants are
-- linked by our variant id, not by SKU (SKUs change), with the content hash Medusa last got.
-- Until now a product had one Medusa variant, kept in medusa_links.medusa_variant_id.
create table medusa_variant_links (
    variant_id bigint primary key,
    product_id bigint not null,
    medusa_variant_id text not null,
    -- The variant's content hash when Medusa last received it (empty for a variant written
    -- before variants had hashes); null: Medusa's copy is to be checked and rewritten at the
    -- product's next push.
    pushed_hash bytea
);
create index medusa_variant_links_product_idx on medusa_variant_links (product_id);

-- A product sold one way keeps its Medusa variant as it is. A product that has options or
-- several variants was pushed as one "Default" variant: that variant is linked to its first
-- variant, to be rewritten, and the product is queued, so Medusa gets its options and variants.
insert into medusa_variant_links (variant_id, product_id, medusa_variant_id, pushed_hash)
select v.id, l.product_id, l.medusa_variant_id,
    case when p.options = '[]'::jsonb
        and not exists (select 1 from product_variants o
            where o.product_id = p.id and o.archived_at is null and o.id <> v.id)
    then coalesce(v.content_hash, '\x'::bytea) end
from medusa_links l
join products p on p.id = l.product_id
join lateral (
    select id, content_hash from product_variants
    where product_id = l.product_id and archived_at is null
    order by position limit 1
) v on true
where l.medusa_variant_id is not null;

insert into medusa_outbox (product_id)
select vl.product_id
from medusa_variant_links vl
where vl.pushed_hash is null
    and exists (select 1 from medusa_sink where disabled_at is null)
on conflict (product_id) do nothing;

alter table medusa_links drop column medusa_variant_id;
