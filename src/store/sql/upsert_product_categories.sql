with input as (
    select * from unnest($2::int8[], $3::int8[], $4::int4[]) as t(product_id, category_id, position)
),
gone as (
    delete from product_categories pc
    where pc.product_id = any($1::int8[])
        and not exists (
            select 1 from input i
            where i.product_id = pc.product_id and i.category_id = pc.category_id
        )
)
insert into product_categories (product_id, category_id, position)
select product_id, category_id, position from input
on conflict (product_id, category_id) do update set position = excluded.position
    where product_categories.position <> excluded.position
