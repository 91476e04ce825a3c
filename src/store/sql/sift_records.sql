select (i.ord - 1)::int4
from unnest($1::text[], $2::bytea[]) with ordinality as i(external_id, fingerprint, ord)
join products p on p.external_id = i.external_id
where p.record_fingerprint = i.fingerprint and p.archived_at is null
