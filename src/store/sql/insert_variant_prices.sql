insert into variant_prices (variant_id, currency, kind, amount, starts_at, ends_at)
select variant_id, currency, kind, amount::numeric, starts_at, ends_at
from unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
    as t(variant_id, currency, kind, amount, starts_at, ends_at)
