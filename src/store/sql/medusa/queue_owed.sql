-- Queues every product whose Medusa copy differs from the catalog: live products Medusa lacks,
-- and linked products whose pushed hash or status is not what the catalog wants now (`$1` is
-- the status an archived product takes: draft or deleted). A product Medusa refused stays
-- refused until it changes (or `reask_refused`). Nothing while the sink is off.
insert into medusa_outbox (product_id)
select p.id
from products p
left join medusa_links l on l.product_id = p.id
where case
    when l.product_id is null or l.pushed_status = 'deleted' then p.archived_at is null
    when p.archived_at is null then l.pushed_status <> 'published' or l.pushed_hash <> p.content_hash
    else l.pushed_status <> $1 or ($1 = 'draft' and l.pushed_hash <> p.content_hash)
end
    and exists (select 1 from medusa_sink where disabled_at is null)
order by p.id
on conflict (product_id) do nothing
