-- Run attempts that leave a record. A run whose worker died is marked `abandoned` (keeping what
-- it had done) instead of being overwritten by the next attempt; an interrupted run keeps its
-- row too. The next attempt of the same request is a new row that may resume from the last
-- committed checkpoint of the one before it, so `request_id` is unique among the runs that are
-- neither abandoned nor interrupted: one request still completes at most once.

alter table sync_runs drop constraint sync_runs_status_check;
alter table sync_runs add constraint sync_runs_status_check check (status in (
    'running', 'interrupted', 'abandoned', 'succeeded', 'partial', 'failed', 'skipped'
));

alter table sync_runs drop constraint sync_runs_request_id_key;
create unique index sync_runs_request_id_key on sync_runs (request_id)
    where status not in ('abandoned', 'interrupted');
create index sync_runs_request_id_idx on sync_runs (request_id, started_at desc);

-- Written every few seconds while the run goes; a running run whose heartbeat is older than
-- the stale bound belongs to a process that is gone.
alter table sync_runs add column heartbeat_at timestamptz not null default now();
create index sync_runs_running_heartbeat_idx on sync_runs (heartbeat_at) where status = 'running';

-- 1 for the first attempt of a request; the attempt it resumed from, when it did.
alter table sync_runs add column attempt integer not null default 1;
alter table sync_runs add column resumed_from uuid references sync_runs (id);

-- What a row of the scratch list records: 0 an id the run's listing served, 1 an id an id-only
-- listing (archive confirmation) served, 2 an id the item endpoint confirmed gone (404).
alter table sync_run_seen add column kind smallint not null default 0;
