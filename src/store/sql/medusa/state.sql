-- What an operator asks of the sink: whether it is on, its links, and what is still owed.
select
    (select store_id from medusa_sink) as store_id,
    (select enabled_at from medusa_sink) as enabled_at,
    (select count(*) from medusa_links where pushed_status <> 'deleted') as linked,
    (select count(*) from medusa_outbox
        where refused_generation is distinct from generation) as owed,
    (select count(*) from medusa_outbox where refused_generation = generation) as refused,
    (select min(queued_at) from medusa_outbox) as oldest_owed,
    (select max(pushed_at) from medusa_links) as last_push,
    (select last_error from medusa_outbox where last_error is not null
        order by queued_at limit 1) as last_error
