-- What an operator asks of the sink besides its backlog (backlog.sql): whether it is on, what
-- Medusa refused, since when something is owed, the last push and the last error, and whether a
-- process with MEDUSA_URL is expected to push what is owed.
select
    (select store_id from medusa_sink) as store_id,
    (select enabled_at from medusa_sink) as enabled_at,
    (select disabled_at from medusa_sink) as disabled_at,
    (select pushers_until from medusa_sink) as pushers_until,
    coalesce((select pushers_until > now() from medusa_sink), false) as pusher_expected,
    (select count(*) from medusa_outbox where refused_generation = generation) as refused,
    (select min(queued_at) from medusa_outbox
        where refused_generation is distinct from generation) as oldest_owed,
    (select max(pushed_at) from medusa_links) as last_push,
    (select last_error from medusa_outbox where last_error is not null
        order by queued_at limit 1) as last_error
