select distinct on (mode) mode, id, request_id, finished_at
from sync_runs
where status = 'succeeded' and not dry_run and finished_at is not null
order by mode, finished_at desc
