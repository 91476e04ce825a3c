-- Where Medusa stands against the catalog: what it has, what it is owed, and how much of that a
-- pusher holds now. The summary of a run and `status` both count with this.
select
    (select count(*) from medusa_links where pushed_status <> 'deleted') as linked,
    count(*) filter (where owed) as owed,
    count(*) filter (where owed and claimed_until > now()) as held,
    max(claimed_until) filter (where owed and claimed_until > now()) as held_until
from (
    select refused_generation is distinct from generation as owed, claimed_until
    from medusa_outbox
) o
