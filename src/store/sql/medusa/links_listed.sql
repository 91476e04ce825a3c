-- The links of the Medusa products a listing page holds, with whether a push of theirs is
-- owed (or refused) and when Medusa was last told.
select l.medusa_product_id, l.product_id, o.product_id is not null as owed, l.pushed_at
from medusa_links l
left join medusa_outbox o on o.product_id = l.product_id
where l.medusa_product_id = any($1) and l.pushed_status <> 'deleted'
