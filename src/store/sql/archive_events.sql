update products p set archived_at = now(), last_synced_at = now(), updated_at = now(),
    source_updated_at = coalesce(u.at, p.source_updated_at)
from unnest($1::text[], $2::timestamptz[]) as u(external_id, at)
where p.external_id = u.external_id and p.archived_at is null
    and (u.at is null or p.source_updated_at is null or u.at >= p.source_updated_at)
