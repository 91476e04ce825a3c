insert into sync_run_seen (run_id, external_id, kind)
select $1, external_id, $3 from unnest($2::text[]) as t(external_id)
