update product_variants v set archived_at = now(), updated_at = now()
from unnest($1::int8[]) as written(product_id)
where v.product_id = written.product_id
    and v.archived_at is null
    and not exists (
        select 1 from unnest($2::int8[], $3::text[]) as t(product_id, external_id)
        where t.product_id = v.product_id and t.external_id = v.external_id
    )
