with wanted as (
    select * from unnest($1::text[], $2::text[]) as t(slug, name)
),
created as (
    insert into categories (slug, name)
    select slug, name from wanted
    on conflict (slug) do nothing
    returning id, slug
)
select slug, id, true as created from created
union all
select c.slug, c.id, false from categories c join wanted w on w.slug = c.slug
