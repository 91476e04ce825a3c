update sync_runs set status = 'abandoned', finished_at = now(), updated_at = now(),
    error = coalesce(error, 'its request was delivered again while it ran: the process running it stopped')
where request_id = $1 and status = 'running'
