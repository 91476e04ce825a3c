select n.external_id collate "default" as external_id from (
    select external_id collate "C" as external_id from products
    except all
    select s.external_id collate "C" from sync_run_seen s
    where (s.run_id = any($1) and s.kind = 0) or (s.run_id = $2 and s.kind = 1)
) n
where exists (
    select from products p
    where p.external_id = n.external_id collate "default"
        and p.archived_at is null
        and p.last_synced_at < (select started_at from sync_runs where id = $3)
)
