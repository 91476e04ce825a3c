-- The newest run of each mode whose request the scheduler published (its request id starts
-- with $1), with the reason the scheduler wrote in it: the schedule it runs.
select distinct on (mode) mode, request_id, reason
from sync_runs
where starts_with(request_id, $1) and reason is not null
order by mode, started_at desc
