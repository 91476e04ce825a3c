update sync_runs set status = 'abandoned', finished_at = now(), updated_at = now(),
    error = coalesce(error, 'no heartbeat since ' || heartbeat_at::text || ': the process running it stopped')
where status = 'running' and heartbeat_at < now() - make_interval(secs => $1)
