select p.id from products p
where p.archived_at is null
    and p.last_synced_at < (select started_at from sync_runs where id = $1)
    and p.external_id in (
        select s.external_id from sync_run_seen s
        where s.run_id = $1 and s.kind = 2
    )
