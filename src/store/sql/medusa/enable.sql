-- Turns the sink on the first time a process with MEDUSA_URL runs against the database (its
-- triggers queue nothing while `medusa_sink` is empty); a sink an operator turned off stays
-- off. Whether this turned it on, and since when it is off (null while it is on).
with inserted as (
    insert into medusa_sink default values on conflict do nothing returning true as fresh
)
select
    exists (select 1 from inserted) as fresh,
    (select disabled_at from medusa_sink) as disabled_at
