-- The catalog other systems read: categories and products. Table and column names are a contract.

create table categories (
    id bigint generated always as identity primary key,
    slug text not null constraint categories_slug_key unique,
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table products (
    id bigint generated always as identity primary key,
    -- The upstream's product id, as text.
    external_id text not null constraint products_external_id_key unique,
    -- Slug of the title; `<slug>--<external id>` when another product holds the slug.
    handle text not null constraint products_handle_key unique,
    title text not null,
    description text not null default '',
    category_id bigint references categories (id),
    brand text,
    sku text,
    -- Exact decimal, as the upstream wrote it.
    price numeric,
    stock bigint,
    tags text[] not null default '{}',
    images text[] not null default '{}',
    thumbnail text,
    -- The other upstream fields (dimensions, rating, meta, ...).
    attributes jsonb not null default '{}',
    -- XXH3-128 of every stored field: a sync skips rows whose hash did not change.
    content_hash bytea not null,
    -- The upstream's own last change (meta.updatedAt).
    source_updated_at timestamptz,
    -- When a sync last changed this row.
    last_synced_at timestamptz not null default now(),
    -- Set when the product disappeared upstream (soft delete); null while live.
    archived_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index products_category_id_idx on products (category_id);
