-- `changes` runs: products the source lists as changed since the last succeeded full run.
alter table sync_runs drop constraint if exists sync_runs_mode_check;
alter table sync_runs add constraint sync_runs_mode_check
    check (mode in ('full', 'products', 'incremental', 'changes'));

-- The lower bound a `changes` run listed from: the start of the last succeeded full run,
-- less the source's overlap.
alter table sync_runs add column changes_since timestamptz;
