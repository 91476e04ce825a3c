-- The Medusa sink's off switch, and who is expected to push.
--
-- `catalog-sync medusa disable` sets disabled_at: from then on nothing is queued, whichever
-- process writes, and processes with MEDUSA_URL leave Medusa alone until `catalog-sync medusa
-- enable` clears it. Without it, the first process with MEDUSA_URL turned the sink on for good.
alter table medusa_sink add column disabled_at timestamptz;

-- Until when a process with MEDUSA_URL is expected to push again: each pusher moves it on as it
-- works (the worker's by twice its MEDUSA_RETRY_INTERVAL). Pushes owed past it wait for nobody,
-- and `status` says so.
alter table medusa_sink add column pushers_until timestamptz;

create or replace function medusa_queue_inserted() returns trigger language plpgsql as $$
begin
    if exists (select 1 from medusa_sink where disabled_at is null) then
        insert into medusa_outbox (product_id)
        select id from inserted order by id
        on conflict (product_id) do update
            set generation = medusa_outbox.generation + 1, last_error = null;
    end if;
    return null;
end
$$;

create or replace function medusa_queue_updated() returns trigger language plpgsql as $$
begin
    if exists (select 1 from medusa_sink where disabled_at is null) then
        insert into medusa_outbox (product_id)
        select n.id
        from updated_new n join updated_old o on o.id = n.id
        where n.content_hash is distinct from o.content_hash
            or (n.archived_at is null) <> (o.archived_at is null)
        order by n.id
        on conflict (product_id) do update
            set generation = medusa_outbox.generation + 1, last_error = null;
    end if;
    return null;
end
$$;
