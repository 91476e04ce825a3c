-- A product's options, variants, prices and every category (README "Data model"). Table and
-- column names are a contract. The products row keeps its own sku, price, stock and category_id,
-- derived from these: the first live variant's SKU, the lowest base price in the source's
-- currency, the sum of the stocks, the first category.
--
-- These tables declare no foreign keys: a first load writes a variant, a price and a category
-- row for every product, and checking each reference made it several times slower. Their rows
-- are written in the transaction that writes their product, and catalog-sync never deletes a
-- product or a category (it archives them), so every reference holds.

alter table products add column options jsonb not null default '[]';

-- Every category of a product, in upstream order.
create table product_categories (
    product_id bigint not null,
    category_id bigint not null,
    position integer not null,
    primary key (product_id, category_id)
);
create index product_categories_category_id_idx on product_categories (category_id);

create table product_variants (
    id bigint generated always as identity primary key,
    product_id bigint not null,
    -- The upstream's variant id, as text; unique within its product.
    external_id text not null,
    sku text,
    barcode text,
    title text not null,
    position integer not null,
    -- Option name to value: {"Size": "M", "Color": "Black"}.
    options jsonb not null default '{}',
    stock bigint,
    attributes jsonb not null default '{}',
    -- XXH3-128 of every stored field of the variant and its prices: a changed product rewrites
    -- only the variants that changed. Null until the variant is first written by a sync.
    content_hash bytea,
    -- Set when the variant disappeared from its product upstream; null while live.
    archived_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint product_variants_product_external_key unique (product_id, external_id)
);

create table variant_prices (
    variant_id bigint not null,
    -- ISO 4217, lower case.
    currency text not null constraint variant_prices_currency_check check (currency ~ '^[a-z]{3}$'),
    kind text not null constraint variant_prices_kind_check
        check (kind in ('base', 'compare_at', 'sale')),
    -- Exact decimal, as the upstream wrote it.
    amount numeric not null constraint variant_prices_amount_check check (amount >= 0),
    starts_at timestamptz,
    ends_at timestamptz,
    primary key (variant_id, currency, kind)
);

-- Until now every product was sold one way: one variant with its own id, title, SKU, stock and
-- price (in the default currency, eur), and one category.
insert into product_variants (product_id, external_id, sku, title, position, stock)
select id, external_id, sku, title, 0, stock from products;

insert into variant_prices (variant_id, currency, kind, amount)
select v.id, 'eur', 'base', p.price
from product_variants v
join products p on p.id = v.product_id
where p.price is not null;

insert into product_categories (product_id, category_id, position)
select id, category_id, 0 from products where category_id is not null;

