-- The Medusa sink's state: which Medusa product each catalog product became, and the pushes
-- still owed. The catalog tables stay the source of the diff; these tables only remember what
-- Medusa was last told.

-- One row once a process with MEDUSA_URL has run against this database. While it exists,
-- every change of a product is queued for Medusa, whichever process writes it.
create table medusa_sink (
    singleton boolean primary key default true check (singleton),
    -- The Medusa store the links below belong to (`GET /admin/stores`), once known.
    store_id text,
    enabled_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- A catalog product's Medusa product, kept here because Medusa does not keep external_id unique.
create table medusa_links (
    product_id bigint primary key references products (id) on delete cascade,
    medusa_product_id text not null,
    medusa_variant_id text,
    -- The content hash and status Medusa last received: a product whose hash and wanted status
    -- match costs Medusa nothing.
    pushed_hash bytea not null,
    pushed_status text not null check (pushed_status in ('published', 'draft', 'deleted')),
    pushed_at timestamptz not null default now()
);

create table medusa_categories (
    category_id bigint primary key references categories (id) on delete cascade,
    medusa_category_id text not null
);

create table medusa_tags (
    value text primary key,
    medusa_tag_id text not null
);

-- Pushes owed to Medusa, one row per product, filled in the transaction that changes the
-- product (triggers below), drained by every run and by the worker.
create table medusa_outbox (
    product_id bigint primary key references products (id) on delete cascade,
    queued_at timestamptz not null default now(),
    -- Raised each time the product changes again while queued: a push of an older version does
    -- not clear the row of a newer one.
    generation bigint not null default 1,
    -- A pusher holds the row until then; a pusher that died lets go when it passes.
    claimed_until timestamptz,
    attempts integer not null default 0,
    last_error text,
    -- Medusa refused this generation: it is not pushed again until the product changes or a
    -- full sync asks again.
    refused_generation bigint
);

create index medusa_outbox_queue_idx on medusa_outbox (queued_at, product_id);

-- Queues inserted products, and updated ones whose content or archived state changed. One
-- statement per write statement (transition tables), and nothing at all before a sink exists.
create function medusa_queue_inserted() returns trigger language plpgsql as $$
begin
    if exists (select 1 from medusa_sink) then
        insert into medusa_outbox (product_id)
        select id from inserted order by id
        on conflict (product_id) do update
            set generation = medusa_outbox.generation + 1, last_error = null;
    end if;
    return null;
end
$$;

create function medusa_queue_updated() returns trigger language plpgsql as $$
begin
    if exists (select 1 from medusa_sink) then
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

create trigger products_medusa_inserted after insert on products
    referencing new table as inserted
    for each statement execute function medusa_queue_inserted();

create trigger products_medusa_updated after update on products
    referencing old table as updated_old new table as updated_new
    for each statement execute function medusa_queue_updated();
