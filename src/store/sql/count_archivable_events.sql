select count(*) from products p
join unnest($1::text[], $2::timestamptz[]) as u(external_id, at) on p.external_id = u.external_id
where p.archived_at is null
    and (u.at is null or p.source_updated_at is null or u.at >= p.source_updated_at)
