select slug, id, false from categories where slug = any($1)
