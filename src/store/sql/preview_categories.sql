select s.slug from unnest($1::text[]) as s(slug)
where not exists (select 1 from categories c where c.slug = s.slug)
