//! Batched catalog writes: one upsert statement and one transaction per batch, unchanged rows
//! skipped by content hash, and the ids a full sync has seen recorded beside it.

use std::collections::{BTreeSet, HashSet};

use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::{ContentHash, Product, category_name, suffixed_handle};

/// A product ready to write: its hash and both handles it may get are computed once, off the
/// database.
#[derive(Clone, Debug)]
pub struct PreparedProduct {
    pub product: Product,
    pub hash: ContentHash,
    /// The slug of the title, which the product gets unless another product holds it.
    pub handle: String,
    /// The handle it gets when the slug is taken.
    pub handle_suffixed: String,
}

impl From<Product> for PreparedProduct {
    fn from(product: Product) -> Self {
        let handle = product.base_handle();
        let handle_suffixed = suffixed_handle(&handle, &product.external_id);
        PreparedProduct {
            hash: product.content_hash(),
            handle,
            handle_suffixed,
            product,
        }
    }
}

/// What writing (or previewing) one batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchWrite {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub categories_created: u64,
    /// Category slugs this batch made sure exist (or, previewing, counted as would-be-created):
    /// callers add them to the `known_categories` they pass to later batches.
    pub categories_confirmed: Vec<String>,
}

/// First half of a batch write: records the ids as seen by the run (when `$1` is set) and
/// returns the positions of the products that need writing (new, changed or archived), so an
/// unchanged product costs one index lookup and never reaches the upsert.
const CLASSIFY_PRODUCTS: &str = r#"
with input as (
    select * from unnest($2::text[], $3::bytea[]) with ordinality as t(external_id, content_hash, ord)
),
seen as (
    insert into sync_run_seen (run_id, external_id)
    select $1::uuid, external_id from input where $1::uuid is not null
)
select (i.ord - 1)::int4 as position, p.id is null as is_new
from input i
left join products p on p.external_id = i.external_id
where p.id is null or p.content_hash is distinct from i.content_hash or p.archived_at is not null
"#;

/// Second half: upsert of the products that need writing. Handles: a product keeps the plain
/// slug when it already holds it, or when nobody holds it and it comes first among the batch's
/// products asking for it (`first_with_handle`, computed by the caller); otherwise it gets its
/// suffixed handle. The `where` clause re-checks
/// the hash, so a row changed concurrently to the same content is not rewritten. With `$17` set,
/// an older `source_updated_at` never overwrites a newer one. Tags and images travel as text
/// joined with the unit separator (U+001F), which product text never contains.
const UPSERT_PRODUCTS: &str = r#"
with input as (
    select *
    from unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::text[], $10::int8[], $11::text[], $12::text[], $13::text[], $14::text[],
        $15::bytea[], $16::timestamptz[], $18::bool[]
    ) as t(
        external_id, handle, handle_suffixed, title, description, category_slug, brand, sku,
        price, stock, tags, images, thumbnail, attributes, content_hash, source_updated_at,
        first_with_handle
    )
),
resolved as (
    select i.*,
        c.id as category_id,
        case
            when holder.external_id = i.external_id then i.handle
            when holder.external_id is null and i.first_with_handle then i.handle
            else i.handle_suffixed
        end as final_handle
    from input i
    left join categories c on c.slug = i.category_slug
    left join products holder on holder.handle = i.handle
)
insert into products as p (
    external_id, handle, title, description, category_id, brand, sku, price, stock, tags, images,
    thumbnail, attributes, content_hash, source_updated_at, last_synced_at, archived_at
)
select
    external_id, final_handle, title, description, category_id, brand, sku, price::numeric, stock,
    string_to_array(tags, E'\x1f'), string_to_array(images, E'\x1f'),
    thumbnail, attributes::jsonb, content_hash, source_updated_at, now(), null
from resolved
on conflict (external_id) do update set
    handle = excluded.handle,
    title = excluded.title,
    description = excluded.description,
    category_id = excluded.category_id,
    brand = excluded.brand,
    sku = excluded.sku,
    price = excluded.price,
    stock = excluded.stock,
    tags = excluded.tags,
    images = excluded.images,
    thumbnail = excluded.thumbnail,
    attributes = excluded.attributes,
    content_hash = excluded.content_hash,
    source_updated_at = excluded.source_updated_at,
    last_synced_at = now(),
    archived_at = null,
    updated_at = now()
where (p.content_hash is distinct from excluded.content_hash or p.archived_at is not null)
    and not ($17::bool
        and p.source_updated_at is not null
        and excluded.source_updated_at is not null
        and excluded.source_updated_at < p.source_updated_at)
returning (xmax = 0) as inserted
"#;

const INSERT_CATEGORIES: &str = r#"
insert into categories (slug, name)
select * from unnest($1::text[], $2::text[])
on conflict (slug) do nothing
returning id
"#;

const PREVIEW_CATEGORIES: &str = r#"
select s.slug from unnest($1::text[]) as s(slug)
where not exists (select 1 from categories c where c.slug = s.slug)
"#;

const COUNT_LIVE: &str = "select count(*) from products where archived_at is null";

const COUNT_UNSEEN: &str = r#"
select count(*) from products p
where p.archived_at is null
    and not exists (
        select 1 from sync_run_seen s where s.run_id = $1 and s.external_id = p.external_id
    )
"#;

const ARCHIVE_UNSEEN: &str = r#"
update products p set archived_at = now(), last_synced_at = now(), updated_at = now()
where p.archived_at is null
    and not exists (
        select 1 from sync_run_seen s where s.run_id = $1 and s.external_id = p.external_id
    )
"#;

const ARCHIVE_IDS: &str = r#"
update products set archived_at = now(), last_synced_at = now(), updated_at = now()
where external_id = any($1) and archived_at is null
"#;

const COUNT_ARCHIVABLE_IDS: &str =
    "select count(*) from products where external_id = any($1) and archived_at is null";

const FORGET_SEEN: &str = "delete from sync_run_seen where run_id = $1";

/// How writes treat ordering and bookkeeping.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// Record the ids as seen by this (full) run.
    pub seen_by: Option<Uuid>,
    /// Never let an older `source_updated_at` overwrite a newer one (event-driven writes).
    pub respect_source_order: bool,
}

/// A product that needs writing: its position in the batch and whether it is new.
struct Pending {
    position: usize,
    is_new: bool,
}

impl Store {
    /// Writes one batch in one transaction: unchanged products are only recorded as seen, the
    /// others go through one upsert statement. The batch must not repeat an external id.
    /// `known_categories` are category slugs known to exist: most batches skip the category
    /// statement.
    pub async fn write_batch(
        &self,
        batch: &[PreparedProduct],
        options: WriteOptions,
        known_categories: &BTreeSet<String>,
    ) -> Result<BatchWrite, StoreError> {
        let mut tx = self.pool.begin().await?;
        let pending = classify(&mut tx, batch, options.seen_by).await?;
        let changed: Vec<&PreparedProduct> = pending.iter().map(|p| &batch[p.position]).collect();
        let mut write = BatchWrite::default();
        let new_slugs: Vec<&str> = distinct_categories(&changed)
            .into_iter()
            .filter(|slug| !known_categories.contains(*slug))
            .collect();
        if !new_slugs.is_empty() {
            write.categories_created = insert_categories(&mut tx, &new_slugs).await?;
        }
        if !changed.is_empty() {
            let rows = upsert(&mut tx, &changed, options.respect_source_order).await?;
            for row in rows {
                if row.try_get::<bool, _>(0)? {
                    write.created += 1;
                } else {
                    write.updated += 1;
                }
            }
        }
        tx.commit().await?;
        write.categories_confirmed = new_slugs.into_iter().map(str::to_owned).collect();
        write.unchanged = batch.len() as u64 - write.created - write.updated;
        Ok(write)
    }

    /// What `write_batch` would do, without writing catalog rows (the ids are still recorded as
    /// seen, for the archive preview). `known_categories` are the categories known to exist or
    /// already counted as would-be-created, so each is counted once.
    pub async fn preview_batch(
        &self,
        batch: &[PreparedProduct],
        seen_by: Option<Uuid>,
        known_categories: &BTreeSet<String>,
    ) -> Result<BatchWrite, StoreError> {
        let mut tx = self.pool.begin().await?;
        let pending = classify(&mut tx, batch, seen_by).await?;
        let all: Vec<&PreparedProduct> = batch.iter().collect();
        let slugs: Vec<&str> = distinct_categories(&all)
            .into_iter()
            .filter(|s| !known_categories.contains(*s))
            .collect();
        let new_slugs: Vec<String> = sqlx::query_scalar(PREVIEW_CATEGORIES)
            .bind(&slugs)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let created = pending.iter().filter(|p| p.is_new).count() as u64;
        let updated = pending.len() as u64 - created;
        Ok(BatchWrite {
            created,
            updated,
            unchanged: batch.len() as u64 - pending.len() as u64,
            categories_created: new_slugs.len() as u64,
            categories_confirmed: slugs.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Live products, the base of the archive ratio guard.
    pub async fn live_products(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_LIVE).fetch_one(&self.pool).await?;
        Ok(n as u64)
    }

    /// Live products that run `run_id` has not seen.
    pub async fn unseen_products(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(COUNT_UNSEEN)
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Archives every live product run `run_id` has not seen.
    pub async fn archive_unseen(&self, run_id: Uuid) -> Result<u64, StoreError> {
        let done = sqlx::query(ARCHIVE_UNSEEN)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Archives the given products (gone upstream); with `dry_run`, only counts them.
    pub async fn archive_ids(&self, ids: &[String], dry_run: bool) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        if dry_run {
            let n: i64 = sqlx::query_scalar(COUNT_ARCHIVABLE_IDS)
                .bind(ids)
                .fetch_one(&self.pool)
                .await?;
            return Ok(n as u64);
        }
        let done = sqlx::query(ARCHIVE_IDS)
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Drops the seen-id bookkeeping of a finished run.
    pub async fn forget_seen(&self, run_id: Uuid) -> Result<(), StoreError> {
        sqlx::query(FORGET_SEEN)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Category slugs of some products, sorted so concurrent batches lock them in the same order.
fn distinct_categories<'a>(products: &[&'a PreparedProduct]) -> BTreeSet<&'a str> {
    products
        .iter()
        .filter_map(|p| p.product.category.as_deref())
        .collect()
}

async fn classify(
    tx: &mut Transaction<'static, Postgres>,
    batch: &[PreparedProduct],
    seen_by: Option<Uuid>,
) -> Result<Vec<Pending>, StoreError> {
    let ids: Vec<&str> = batch
        .iter()
        .map(|p| p.product.external_id.as_str())
        .collect();
    let hashes: Vec<&[u8]> = batch.iter().map(|p| p.hash.as_bytes()).collect();
    let rows: Vec<(i32, bool)> = sqlx::query_as(CLASSIFY_PRODUCTS)
        .bind(seen_by)
        .bind(&ids)
        .bind(&hashes)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(position, is_new)| Pending {
            position: position as usize,
            is_new,
        })
        .collect())
}

async fn insert_categories(
    tx: &mut Transaction<'static, Postgres>,
    slugs: &[&str],
) -> Result<u64, StoreError> {
    let names: Vec<String> = slugs.iter().map(|s| category_name(s)).collect();
    let created = sqlx::query(INSERT_CATEGORIES)
        .bind(slugs)
        .bind(&names)
        .fetch_all(&mut **tx)
        .await?;
    Ok(created.len() as u64)
}

async fn upsert(
    tx: &mut Transaction<'static, Postgres>,
    products: &[&PreparedProduct],
    respect_source_order: bool,
) -> Result<Vec<sqlx::postgres::PgRow>, StoreError> {
    let columns = Columns::of(products);
    Ok(sqlx::query(UPSERT_PRODUCTS)
        .bind(&columns.external_ids)
        .bind(&columns.handles)
        .bind(&columns.handles_suffixed)
        .bind(&columns.titles)
        .bind(&columns.descriptions)
        .bind(&columns.categories)
        .bind(&columns.brands)
        .bind(&columns.skus)
        .bind(&columns.prices)
        .bind(&columns.stocks)
        .bind(&columns.tags)
        .bind(&columns.images)
        .bind(&columns.thumbnails)
        .bind(&columns.attributes)
        .bind(&columns.hashes)
        .bind(&columns.source_updated_at)
        .bind(respect_source_order)
        .bind(&columns.first_with_handle)
        .fetch_all(&mut **tx)
        .await?)
}

/// A batch turned into one array per column, the shape `unnest` wants.
struct Columns<'a> {
    external_ids: Vec<&'a str>,
    handles: Vec<&'a str>,
    handles_suffixed: Vec<&'a str>,
    titles: Vec<&'a str>,
    descriptions: Vec<&'a str>,
    categories: Vec<Option<&'a str>>,
    brands: Vec<Option<&'a str>>,
    skus: Vec<Option<&'a str>>,
    prices: Vec<Option<&'a str>>,
    stocks: Vec<Option<i64>>,
    tags: Vec<String>,
    images: Vec<String>,
    thumbnails: Vec<Option<&'a str>>,
    attributes: Vec<String>,
    hashes: Vec<&'a [u8]>,
    source_updated_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    first_with_handle: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn of(batch: &[&'a PreparedProduct]) -> Self {
        let n = batch.len();
        let mut c = Columns {
            external_ids: Vec::with_capacity(n),
            handles: Vec::with_capacity(n),
            handles_suffixed: Vec::with_capacity(n),
            titles: Vec::with_capacity(n),
            descriptions: Vec::with_capacity(n),
            categories: Vec::with_capacity(n),
            brands: Vec::with_capacity(n),
            skus: Vec::with_capacity(n),
            prices: Vec::with_capacity(n),
            stocks: Vec::with_capacity(n),
            tags: Vec::with_capacity(n),
            images: Vec::with_capacity(n),
            thumbnails: Vec::with_capacity(n),
            attributes: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            source_updated_at: Vec::with_capacity(n),
            first_with_handle: Vec::with_capacity(n),
        };
        let mut handles_seen = HashSet::with_capacity(n);
        for prepared in batch {
            let p = &prepared.product;
            c.external_ids.push(&p.external_id);
            c.handles.push(&prepared.handle);
            c.handles_suffixed.push(&prepared.handle_suffixed);
            c.titles.push(&p.title);
            c.descriptions.push(&p.description);
            c.categories.push(p.category.as_deref());
            c.brands.push(p.brand.as_deref());
            c.skus.push(p.sku.as_deref());
            c.prices.push(p.price.as_ref().map(|price| price.as_str()));
            c.stocks.push(p.stock);
            c.tags.push(p.tags.join(LIST_SEPARATOR));
            c.images.push(p.images.join(LIST_SEPARATOR));
            c.thumbnails.push(p.thumbnail.as_deref());
            c.attributes.push(json_text(&p.attributes));
            c.hashes.push(prepared.hash.as_bytes());
            c.source_updated_at.push(p.source_updated_at);
            c.first_with_handle
                .push(handles_seen.insert(prepared.handle.as_str()));
        }
        c
    }
}

/// Joins list items for `string_to_array(…, E'\\x1f')`; products never contain it (see
/// `Product::validate`).
const LIST_SEPARATOR: &str = "\u{1f}";

fn json_text<T: serde::Serialize>(value: &T) -> String {
    // Serializing strings, string lists and JSON maps cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
