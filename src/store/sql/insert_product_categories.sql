insert into product_categories (product_id, category_id, position)
select * from unnest($1::int8[], $2::int8[], $3::int4[])
