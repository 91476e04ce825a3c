from products p
where p.archived_at is null
    and p.last_synced_at < (select started_at from sync_runs where id = $3)
    and not exists (
        select 1 from sync_run_seen s
        where s.run_id = any($1) and s.kind = 0 and s.external_id = p.external_id
    )
    and ($2::uuid is null or not exists (
        select 1 from sync_run_seen s
        where s.run_id = $2 and s.kind = 1 and s.external_id = p.external_id
    ))
