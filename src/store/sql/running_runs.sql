select id, request_id, mode, started_at, heartbeat_at, checkpoint
from sync_runs
where status = 'running'
order by started_at
