-- Every category of the claimed products, in upstream order.
select pc.product_id, c.id, c.slug, c.name
from product_categories pc
join categories c on c.id = pc.category_id
where pc.product_id = any($1)
order by pc.product_id, pc.position
