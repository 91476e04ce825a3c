update products p set record_fingerprint = u.fingerprint
from unnest($1::text[], $2::bytea[]) as u(external_id, fingerprint)
where p.external_id = u.external_id
