-- Lets go of claimed rows, noting why each was not delivered (null: it was, or it will be
-- again) and, for a product Medusa refused, the generation it refused.
update medusa_outbox o set
    claimed_until = null,
    last_error = r.error,
    refused_generation = case when r.refused then r.generation else o.refused_generation end
from unnest($1::int8[], $2::text[], $3::bool[], $4::int8[]) as r(product_id, error, refused, generation)
where o.product_id = r.product_id
