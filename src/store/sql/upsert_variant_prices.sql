with input as (
    select *
    from unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
        as t(variant_id, currency, kind, amount, starts_at, ends_at)
),
gone as (
    delete from variant_prices vp
    where vp.variant_id = any($1::int8[])
        and not exists (
            select 1 from input i
            where i.variant_id = vp.variant_id and i.currency = vp.currency and i.kind = vp.kind
        )
)
insert into variant_prices (variant_id, currency, kind, amount, starts_at, ends_at)
select variant_id, currency, kind, amount::numeric, starts_at, ends_at from input
on conflict (variant_id, currency, kind) do update set
    amount = excluded.amount,
    starts_at = excluded.starts_at,
    ends_at = excluded.ends_at
