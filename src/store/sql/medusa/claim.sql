-- Takes up to `$1` queued products no other pusher holds, oldest first, for `$2` seconds;
-- nothing while the sink is off.
update medusa_outbox o
set claimed_until = now() + make_interval(secs => $2), attempts = o.attempts + 1
from (
    select product_id
    from medusa_outbox
    where (claimed_until is null or claimed_until < now())
        and refused_generation is distinct from generation
        and exists (select 1 from medusa_sink where disabled_at is null)
    order by queued_at, product_id
    limit $1
    for update skip locked
) c
where o.product_id = c.product_id
returning o.product_id, o.generation
