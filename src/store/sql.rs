//! Every SQL statement of the store, each in its own file under `sql/` (readable and checkable
//! with SQL tools), included here at build time.

/// Records the ids as seen by the run (when `$1` is set) and returns the products that need
/// writing: new, changed, or archived. For new ones it also says whether their plain handle is
/// held by another product (a stored product keeps the handle it has). An unchanged product
/// stored without a record fingerprint (written before fingerprints, or by an event) and read
/// from a record (`$5`) is returned too, marked `fingerprint_only`: only its fingerprint is
/// written, once. A stored fingerprint of other bytes (another mapping, say) is left alone: an
/// unchanged product is never rewritten for it, and is decoded until it changes.
pub const CLASSIFY_PRODUCTS: &str = include_str!("sql/classify_products.sql");

/// New products. Tags and images travel as text joined with U+001F, which product text never
/// contains (see `Product::validate`).
pub const INSERT_PRODUCTS: &str = include_str!("sql/insert_products.sql");

/// Changed or archived products. The hash is checked again, so a row another writer already
/// brought to the same content is not rewritten. The handle is never touched: it was assigned
/// when the product was created, and storefront URLs must outlive a rename. With `$17` set, an
/// older `source_updated_at` never overwrites a newer one; with `$18` set as well, an archived
/// product comes back only with a strictly newer version (a late copy of the event that came
/// before its deletion must not restore it). A stored version more than `$19` seconds ahead of
/// the clock blocks nothing: it came from a clock that was wrong, and a full sync repairs what
/// it did.
pub const UPDATE_PRODUCTS: &str = include_str!("sql/update_products.sql");

/// Every category of new products, copied in (`COPY`'s text format, in this column order).
pub const PRODUCT_CATEGORIES_COLUMNS: &str =
    "product_categories (product_id, category_id, position)";

/// Ids for the variants of new products, taken before they are copied in, as one array. The
/// sequence is looked up once (materialised): looked up per row, the lookup cost eight times
/// the `nextval`.
pub const NEXT_VARIANT_IDS: &str = "with sequence as materialized \
    (select pg_get_serial_sequence('product_variants', 'id')::regclass as id) \
    select array(select nextval(sequence.id) from sequence, generate_series(1, $1))";

/// The variants of new products, copied in (`COPY`'s text format, in this column order).
pub const VARIANTS_COLUMNS: &str = "product_variants (id, product_id, external_id, sku, barcode, \
    title, position, options, stock, attributes, content_hash)";

/// The prices of new variants, copied in (`COPY`'s text format, in this column order).
pub const VARIANT_PRICES_COLUMNS: &str =
    "variant_prices (variant_id, currency, kind, amount, starts_at, ends_at)";

/// Every category of the written products `$1`, in order (`$2` product, `$3` category, `$4`
/// position): those no longer listed are removed, moved ones renumbered, the rest untouched.
pub const UPSERT_PRODUCT_CATEGORIES: &str = include_str!("sql/upsert_product_categories.sql");

/// The variants of written products: a new one is inserted, a changed or archived one rewritten
/// (and restored); one whose hash is unchanged is left alone. Returns the variants written, so
/// only their prices are written after them.
pub const UPSERT_VARIANTS: &str = include_str!("sql/upsert_variants.sql");

/// Archives the live variants of the written products `$1` that are not among the product's
/// variants now (`$2` product, `$3` variant external id).
pub const ARCHIVE_VARIANTS: &str = include_str!("sql/archive_variants.sql");

/// The prices of written variants `$1`: each (currency, kind) set or replaced, the others
/// removed.
pub const UPSERT_VARIANT_PRICES: &str = include_str!("sql/upsert_variant_prices.sql");

/// Creates missing categories and returns the ids of all asked for. A category another
/// transaction committed meanwhile is absent from this statement's snapshot; the caller looks
/// those up again.
/// Of the listed records (`$1` ids, `$2` record fingerprints), the positions of those whose
/// fingerprint a live product already holds: unchanged, they need no decoding.
pub const SIFT_RECORDS: &str = include_str!("sql/sift_records.sql");

/// Stores record fingerprints (`$2`) of unchanged products (`$1`), nothing else.
pub const REFRESH_FINGERPRINTS: &str = include_str!("sql/refresh_fingerprints.sql");

pub const ENSURE_CATEGORIES: &str = include_str!("sql/ensure_categories.sql");

pub const CATEGORY_IDS: &str = include_str!("sql/category_ids.sql");

pub const PREVIEW_CATEGORIES: &str = include_str!("sql/preview_categories.sql");

pub const LOCK_REQUEST_RUNS: &str = include_str!("sql/lock_request_runs.sql");

pub const ABANDON_REQUEST_RUNS: &str = include_str!("sql/abandon_request_runs.sql");

pub const INSERT_RUN: &str = include_str!("sql/insert_run.sql");

pub const HEARTBEAT: &str = include_str!("sql/heartbeat.sql");

pub const SWEEP_STALE: &str = include_str!("sql/sweep_stale.sql");

/// Seen-id lists of attempts that ended long ago and were never resumed.
pub const FORGET_OLD_SEEN: &str = include_str!("sql/forget_old_seen.sql");

/// A write that changes nothing: refused by a read-only session like any other write.
pub const CHECK_WRITABLE: &str = "update sync_runs set heartbeat_at = heartbeat_at where false";

pub const INSERT_ERRORS: &str = include_str!("sql/insert_errors.sql");

pub const FINISH_RUN: &str = include_str!("sql/finish_run.sql");

pub const INTERRUPT_RUN: &str = include_str!("sql/interrupt_run.sql");

pub const FULL_SYNC_SUCCEEDED_SINCE: &str = include_str!("sql/full_sync_succeeded_since.sql");

pub const COUNT_LIVE: &str = include_str!("sql/count_live.sql");

pub const ANY_LIVE: &str = include_str!("sql/any_live.sql");

pub const RECORD_IDS: &str = include_str!("sql/record_ids.sql");

/// Ids the run's listing served more than once.
pub const SEEN_TWICE: &str = include_str!("sql/seen_twice.sql");

pub const ARCHIVE_IDS: &str = include_str!("sql/archive_ids.sql");

pub const COUNT_ARCHIVABLE_IDS: &str = include_str!("sql/count_archivable_ids.sql");

/// Archives products named by events, unless the stored product changed after the event.
pub const ARCHIVE_EVENTS: &str = include_str!("sql/archive_events.sql");

pub const COUNT_ARCHIVABLE_EVENTS: &str = include_str!("sql/count_archivable_events.sql");

pub const FORGET_SEEN: &str = include_str!("sql/forget_seen.sql");

pub const LIST_RUNS: &str = include_str!("sql/list_runs.sql");

pub const GET_RUN: &str = include_str!("sql/get_run.sql");

pub const GET_RUN_ERRORS: &str = include_str!("sql/get_run_errors.sql");

// The archive step's statements share their candidate set, kept once in a file of its own and
// built around with `concat!`.
//
// The candidates are a set difference written as `except all`, never as `not exists`: the
// seen list is emptied at the end of every run, so its statistics (after autovacuum) say it is
// empty while a run fills it with the whole catalog. An anti-join planned on such statistics
// is a nested loop (products × seen ids, quadratic); `except` is a hash or sort over both sets
// whatever the statistics say. `all`: products' ids are unique already, so nothing is gained
// by removing duplicates (and an id listed twice still removes its product).
// The ids come from products' unique index (an index-only scan once autovacuum has marked
// the pages visible), not from its heap: only the few ids left are looked up to check that
// they are live and unchanged. At 100k products that takes a quarter of the time the heap scan
// took. The seen lists are one input (one set operation, not two), compared in the C collation
// (by bytes, the cheapest; ids are only compared for equality, which no collation changes).
// The statements run with CANDIDATES_SETTINGS: on statistics that overestimate the catalog
// (never analysed yet) the planner would sort to disk instead of hashing in the default 4 MB,
// and JIT-compile for longer than the statement then runs.

/// External ids of live products that none of the attempts `$1` listed, that the id-only
/// listing of run `$2` (when set) did not list either, and that nothing changed since run `$3`
/// started.
macro_rules! candidates {
    () => {
        include_str!("sql/candidates.sql")
    };
}

/// Ids of live products the item endpoint answered 404 for during run `$1`, unchanged since it
/// started.
macro_rules! gone {
    () => {
        include_str!("sql/gone.sql")
    };
}

/// For the statements over the candidate set, in their own transaction.
pub const CANDIDATES_SETTINGS: &str = include_str!("sql/candidates_settings.sql");

pub const COUNT_CANDIDATES: &str = concat!("select count(*) from (", candidates!(), ") c");

pub const CANDIDATE_IDS: &str = concat!(
    "select c.external_id from (",
    candidates!(),
    ") c where ($4::text is null or c.external_id > $4) order by c.external_id limit $5"
);

/// The live-and-unchanged condition is checked again on the row being updated: an event may
/// have changed the product after the candidate set was read.
pub const ARCHIVE_CANDIDATES: &str = concat!(
    "update products set archived_at = now(), last_synced_at = now(), updated_at = now() \
     where archived_at is null \
     and last_synced_at < (select started_at from sync_runs where id = $3) \
     and external_id in (",
    candidates!(),
    ")"
);

pub const COUNT_GONE: &str = concat!("select count(*) from (", gone!(), ") g");

pub const ARCHIVE_GONE: &str = concat!(
    "update products set archived_at = now(), last_synced_at = now(), updated_at = now() \
     where archived_at is null \
     and last_synced_at < (select started_at from sync_runs where id = $1) \
     and id in (",
    gone!(),
    ")"
);

/// When the last succeeded full run (not a dry run) started: what a `changes` run lists from.
pub const LAST_FULL_SYNC_START: &str = include_str!("sql/last_full_sync_start.sql");

/// Records the lower bound a `changes` run listed from.
pub const SET_CHANGES_SINCE: &str = include_str!("sql/set_changes_since.sql");

/// Runs whose id starts with `$1` (a prefix of its text) or whose request id is `$2`, newest
/// first.
pub const FIND_RUNS: &str = include_str!("sql/find_runs.sql");

/// The newest succeeded run (not a dry run) of each mode.
pub const LAST_SUCCESSES: &str = include_str!("sql/last_successes.sql");

/// The newest run of each mode that the scheduler requested, with its reason.
pub const LAST_SCHEDULED: &str = include_str!("sql/last_scheduled.sql");

/// The runs going on now, with their progress.
pub const RUNNING_RUNS: &str = include_str!("sql/running_runs.sql");

/// Turns the Medusa outbox on (its triggers queue nothing while `medusa_sink` is empty).
pub const MEDUSA_ENABLE: &str = include_str!("sql/medusa/enable.sql");

/// The operator's off switch: the sink stays off until [`MEDUSA_SWITCH_ON`]. Returns when it
/// was turned off (the first time, when it already was).
pub const MEDUSA_SWITCH_OFF: &str = "insert into medusa_sink (disabled_at) values (now()) \
     on conflict (singleton) do update \
     set disabled_at = coalesce(medusa_sink.disabled_at, now()), updated_at = now() \
     returning disabled_at";

/// The operator's on switch; returns whether the sink existed before, and since when it had
/// been off (null: it was on).
pub const MEDUSA_SWITCH_ON: &str = "with before as (select disabled_at from medusa_sink), \
     switched as (insert into medusa_sink default values on conflict (singleton) do update \
     set disabled_at = null, updated_at = now()) \
     select exists (select 1 from before), (select disabled_at from before)";

/// Pushes owed are dropped when the sink is turned off: the catalog stays the source of the
/// diff, and turning it on again queues what differs by comparing it with the links.
pub const MEDUSA_DROP_OWED: &str = "delete from medusa_outbox";

/// A pusher says it pushes again before `$1` seconds from now (written at most once per half
/// of that time).
pub const MEDUSA_PUSHERS_UNTIL: &str = "update medusa_sink \
     set pushers_until = now() + make_interval(secs => $1) \
     where pushers_until is null or pushers_until < now() + make_interval(secs => $1 / 2)";

pub const MEDUSA_QUEUE_OWED: &str = include_str!("sql/medusa/queue_owed.sql");

pub const MEDUSA_REASK_REFUSED: &str = "update medusa_outbox set refused_generation = null \
     where refused_generation is not null";

pub const MEDUSA_CLAIM: &str = include_str!("sql/medusa/claim.sql");

pub const MEDUSA_LOAD: &str = include_str!("sql/medusa/load.sql");

pub const MEDUSA_LOAD_CATEGORIES: &str = include_str!("sql/medusa/load_categories.sql");

pub const MEDUSA_LOAD_VARIANTS: &str = include_str!("sql/medusa/load_variants.sql");

pub const MEDUSA_LOAD_PRICES: &str = include_str!("sql/medusa/load_prices.sql");

/// Clears the variant links of delivered products, before [`MEDUSA_SETTLE_VARIANTS`].
pub const MEDUSA_DROP_VARIANT_LINKS: &str =
    "delete from medusa_variant_links where product_id = any($1)";

pub const MEDUSA_SETTLE_VARIANTS: &str = include_str!("sql/medusa/settle_variants.sql");

pub const MEDUSA_UPSERT_LINKS: &str = include_str!("sql/medusa/upsert_links.sql");

/// Links whose Medusa product is gone: kept, with their handle, as `deleted`.
pub const MEDUSA_LINKS_GONE: &str = "update medusa_links set pushed_status = 'deleted', \
     pushed_at = now() where product_id = any($1)";

pub const MEDUSA_DELETE_DONE: &str = include_str!("sql/medusa/delete_done.sql");

pub const MEDUSA_RELEASE: &str = include_str!("sql/medusa/release.sql");

pub const MEDUSA_STATE: &str = include_str!("sql/medusa/state.sql");

pub const MEDUSA_BACKLOG: &str = include_str!("sql/medusa/backlog.sql");

pub const MEDUSA_LINKS_LISTED: &str = include_str!("sql/medusa/links_listed.sql");

pub const MEDUSA_LINKS_VANISHED: &str = include_str!("sql/medusa/links_vanished.sql");

pub const MEDUSA_LINKED_BEFORE: &str =
    "select count(*) from medusa_links where pushed_status <> 'deleted' and pushed_at < $1";

/// Up to `$2` live links after product `$1`, in product order.
pub const MEDUSA_LINKS_AFTER: &str = "select product_id, medusa_product_id from medusa_links \
     where product_id > $1 and pushed_status <> 'deleted' order by product_id limit $2";

/// Queues products (to be pushed as they are in the catalog).
pub const MEDUSA_QUEUE: &str = "insert into medusa_outbox (product_id) \
     select id from unnest($1::int8[]) as q(id) \
     where exists (select 1 from medusa_sink where disabled_at is null) \
     order by id on conflict (product_id) do nothing";

/// Has the next push of products check and rewrite each of their Medusa variants.
pub const MEDUSA_RECHECK_VARIANTS: &str =
    "update medusa_variant_links set pushed_hash = null where product_id = any($1)";

pub const MEDUSA_OWED: &str =
    "select count(*) from medusa_outbox where refused_generation is distinct from generation";

pub const MEDUSA_EXTEND_CLAIMS: &str = "update medusa_outbox \
     set claimed_until = now() + make_interval(secs => $2) \
     where product_id = any($1) and claimed_until is not null";

pub const MEDUSA_STORE_ID: &str = "select store_id from medusa_sink";

pub const MEDUSA_SET_STORE_ID: &str = "update medusa_sink set store_id = $1, updated_at = now()";

/// What belongs to one Medusa store: forgotten when the sink finds itself talking to another.
pub const MEDUSA_FORGET: [&str; 4] = [
    "delete from medusa_variant_links",
    "delete from medusa_links",
    "delete from medusa_categories",
    "delete from medusa_tags",
];

pub const MEDUSA_CATEGORIES: &str =
    "select category_id, medusa_category_id from medusa_categories where category_id = any($1)";

pub const MEDUSA_LINK_CATEGORY: &str = "insert into medusa_categories (category_id, medusa_category_id) \
     values ($1, $2) on conflict (category_id) do update set medusa_category_id = excluded.medusa_category_id";

pub const MEDUSA_FORGET_CATEGORIES: &str =
    "delete from medusa_categories where medusa_category_id = any($1)";

pub const MEDUSA_FORGET_TAGS: &str = "delete from medusa_tags where medusa_tag_id = any($1)";

pub const MEDUSA_TAGS: &str = "select value, medusa_tag_id from medusa_tags where value = any($1)";

pub const MEDUSA_LINK_TAG: &str = "insert into medusa_tags (value, medusa_tag_id) values ($1, $2) \
     on conflict (value) do update set medusa_tag_id = excluded.medusa_tag_id";
