with input as (
    select *
    from unnest($2::text[], $3::bytea[], $4::text[], $5::bytea[])
        with ordinality as t(external_id, content_hash, handle, fingerprint, ord)
),
seen as (
    insert into sync_run_seen (run_id, external_id)
    select $1::uuid, external_id from input where $1::uuid is not null
)
select
    (i.ord - 1)::int4 as position,
    p.id is null as is_new,
    p.id is null and exists (
        select 1 from products h where h.handle = i.handle and h.external_id <> i.external_id
    ) as handle_taken,
    p.id is not null and p.archived_at is null
        and p.content_hash is not distinct from i.content_hash as fingerprint_only
from input i
left join products p on p.external_id = i.external_id
where p.id is null or p.content_hash is distinct from i.content_hash or p.archived_at is not null
    or (i.fingerprint is not null and p.record_fingerprint is null)
