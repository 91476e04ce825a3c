-- Clears the rows whose pushed generation is still the newest; a product that changed again
-- meanwhile keeps its row (released by the next statement) and is pushed again.
delete from medusa_outbox o
using unnest($1::int8[], $2::int8[]) as d(product_id, generation)
where o.product_id = d.product_id and o.generation = d.generation
