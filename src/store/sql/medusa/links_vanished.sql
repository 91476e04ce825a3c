-- Products Medusa no longer has (deleted in its admin): their links are marked deleted (the
-- handle is kept) and the live ones queued, to be created again.
with gone as (
    update medusa_links set pushed_status = 'deleted', pushed_at = now()
    where product_id = any($1) and pushed_status <> 'deleted'
    returning product_id
)
insert into medusa_outbox (product_id)
select g.product_id
from gone g
join products p on p.id = g.product_id
where p.archived_at is null
order by g.product_id
on conflict (product_id) do nothing
