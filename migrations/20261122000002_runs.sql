-- Run records: one row per sync run, its failures, and the ids a full sync has seen.

create table sync_runs (
    id uuid primary key,
    request_id text not null constraint sync_runs_request_id_key unique,
    mode text not null check (mode in ('full', 'products', 'incremental')),
    -- `running` while in progress; `interrupted` when stopped before finishing (it may run again).
    status text not null
        check (status in ('running', 'interrupted', 'succeeded', 'partial', 'failed', 'skipped')),
    dry_run boolean not null default false,
    reason text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    fetched bigint not null default 0,
    created bigint not null default 0,
    updated bigint not null default 0,
    unchanged bigint not null default 0,
    archived bigint not null default 0,
    failed bigint not null default 0,
    categories_created bigint not null default 0,
    batches_total bigint not null default 0,
    batches_succeeded bigint not null default 0,
    batches_failed bigint not null default 0,
    -- Progress of a running run: {"processed": n, "total": n}.
    checkpoint jsonb,
    -- Why the run failed as a whole, when it did.
    error text,
    trace_id text,
    -- The published `catalog.sync.completed` body.
    summary jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index sync_runs_started_at_idx on sync_runs (started_at desc);

create table sync_errors (
    id bigint generated always as identity primary key,
    run_id uuid not null references sync_runs (id) on delete cascade,
    product_id text,
    batch bigint,
    kind text not null,
    message text not null,
    created_at timestamptz not null default now()
);

create index sync_errors_run_id_idx on sync_errors (run_id, id);

-- Which upstream ids a full sync has seen, so products missing upstream can be archived without
-- rewriting unchanged rows. Cleared when the run ends. Deliberately logged: after a crash of
-- PostgreSQL an unlogged table comes back empty, and a run that went on would archive every
-- product it had seen before the crash. No index: rows are only ever read or deleted a whole
-- run at a time (a hash anti-join, a delete by run), and an index would slow every batch.
create table sync_run_seen (
    run_id uuid not null,
    external_id text not null
);
