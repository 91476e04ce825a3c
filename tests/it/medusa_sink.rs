//! The Medusa sink against a real Medusa v2 server (`scripts/medusa`), with the simulator
//! serving the real DummyJSON catalog: the store is read back and compared with the catalog
//! tables field by field, and the requests Medusa receives are counted by a proxy.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use catalog_sync::domain::{ErrorKind, MedusaCounts, RunStatus, RunSummary};
use catalog_sync::engine::{Engine, RunRequest, Target};
use catalog_sync::medusa::Sink;
use catalog_sync::settings::{MedusaSettings, Secret};
use catalog_sync::store::Store;
use catalog_sync_simulator::Simulator;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::support::app::TestApp;
use crate::support::medusa::{
    MedusaAdmin, MedusaProduct, MedusaProxy, MedusaServer, dummyjson_simulator,
};
use crate::support::{count, engine, full_sync, run, upstream_settings};

/// Quick retries, a patient request timeout (a batch of 100 new products takes Medusa a few
/// seconds on this machine).
fn medusa_settings(sim: &Simulator, url: &str, api_key: &str) -> MedusaSettings {
    let mut upstream = upstream_settings(sim);
    upstream.request_timeout = Duration::from_secs(60);
    upstream.max_retries = 2;
    upstream.retry_min_delay = Duration::from_millis(50);
    upstream.retry_max_delay = Duration::from_millis(500);
    MedusaSettings {
        retry_interval: Duration::from_millis(300),
        ..MedusaSettings::new(url.parse().expect("a URL"), Secret::new(api_key), &upstream)
    }
}

fn sink(pool: &PgPool, settings: MedusaSettings) -> Sink {
    Sink::new(Store::from_pool(pool.clone()), settings).expect("Medusa sink")
}

fn engine_with_sink(pool: &PgPool, sim: &Simulator, settings: MedusaSettings) -> Engine {
    engine(pool, sim).with_medusa(sink(pool, settings))
}

fn medusa_counts(summary: &RunSummary) -> MedusaCounts {
    summary.counts.medusa.expect("the summary counts Medusa")
}

/// A catalog row as Medusa should show it.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    external_id: String,
    handle: String,
    title: String,
    description: String,
    sku: Option<String>,
    price: Option<String>,
    category: Option<String>,
    category_name: Option<String>,
    tags: Vec<String>,
    images: Vec<String>,
    thumbnail: Option<String>,
    brand: Option<String>,
    archived: bool,
}

async fn catalog(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as(
        "select p.external_id, p.handle, p.title, p.description, p.sku, p.price::text as price, \
         c.slug as category, c.name as category_name, p.tags, p.images, p.thumbnail, p.brand, \
         p.archived_at is not null as archived \
         from products p left join categories c on c.id = p.category_id order by p.id",
    )
    .fetch_all(pool)
    .await
    .expect("catalog rows")
}

/// A decimal's value as text, whatever its notation: `10`, `10.0` and `10.00` are one price.
fn decimal(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Medusa's products that came from the catalog (they carry an external id), by it.
fn by_external_id(products: Vec<MedusaProduct>) -> BTreeMap<String, MedusaProduct> {
    products
        .into_iter()
        .filter_map(|p| Some((p.external_id.clone()?, p)))
        .collect()
}

/// Every catalog product that Medusa should have, compared field by field: live ones published,
/// archived ones drafts (or absent, when Medusa never had them). Medusa holds nothing else, and
/// no external id twice.
async fn assert_medusa_equals_catalog(pool: &PgPool, admin: &MedusaAdmin, channel: &str) {
    let rows = catalog(pool).await;
    let all = admin.products().await;
    assert!(
        all.iter().all(|p| p.external_id.is_some()),
        "only catalog products"
    );
    let count = all.len();
    let medusa = by_external_id(all);
    assert_eq!(medusa.len(), count, "no external id twice");
    let catalog_ids: BTreeSet<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
    assert!(
        medusa.keys().all(|id| catalog_ids.contains(id.as_str())),
        "Medusa holds only catalog products"
    );
    for row in rows {
        if row.archived && !medusa.contains_key(&row.external_id) {
            continue;
        }
        assert!(
            medusa.contains_key(&row.external_id),
            "{}: live in the catalog, missing in Medusa",
            row.external_id
        );
        let m = &medusa[&row.external_id];
        let id = &row.external_id;
        // The catalog's `--` reads `-id-` in Medusa (no title here has an `id` word, which
        // would be written `idid`).
        assert_eq!(m.handle, row.handle.replace("--", "-id-"), "{id}: handle");
        assert_eq!(m.title, row.title, "{id}: title");
        assert_eq!(
            m.description.as_deref().unwrap_or(""),
            row.description,
            "{id}"
        );
        let status = if row.archived { "draft" } else { "published" };
        assert_eq!(m.status, status, "{id}: status");
        assert_eq!(m.thumbnail, row.thumbnail, "{id}: thumbnail");
        let images: Vec<&str> = m.images.iter().map(|i| i.url.as_str()).collect();
        let expected: BTreeSet<&str> = row.images.iter().map(String::as_str).collect();
        assert_eq!(
            images.iter().copied().collect::<BTreeSet<_>>(),
            expected,
            "{id}: images"
        );
        let tags: BTreeSet<&str> = m.tags.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(
            tags,
            row.tags.iter().map(String::as_str).collect(),
            "{id}: tags"
        );
        let categories: Vec<(&str, &str)> = m
            .categories
            .iter()
            .map(|c| (c.handle.as_str(), c.name.as_str()))
            .collect();
        let expected: Vec<(&str, &str)> = row
            .category
            .as_deref()
            .zip(row.category_name.as_deref())
            .into_iter()
            .collect();
        assert_eq!(categories, expected, "{id}: category");
        assert!(
            m.sales_channels.iter().any(|s| s.id == channel),
            "{id}: in the default sales channel"
        );
        assert_eq!(m.variants.len(), 1, "{id}: one variant");
        let variant = &m.variants[0];
        assert_eq!(variant.sku, row.sku, "{id}: sku");
        let prices: Vec<(String, String)> = variant
            .prices
            .iter()
            .map(|p| (p.currency_code.clone(), decimal(&p.amount)))
            .collect();
        let expected: Vec<(String, String)> = row
            .price
            .iter()
            .map(|p| ("eur".to_owned(), decimal(p)))
            .collect();
        assert_eq!(prices, expected, "{id}: the exact price");
        assert_eq!(
            m.metadata["brand"].as_str(),
            row.brand.as_deref(),
            "{id}: brand in metadata"
        );
    }
}

/// Each product's `updated_at` and price, to see what a run changed in Medusa.
async fn medusa_versions(admin: &MedusaAdmin) -> HashMap<String, (String, String, String)> {
    admin
        .products()
        .await
        .into_iter()
        .map(|p| {
            let price = p.variants[0]
                .prices
                .first()
                .map(|p| decimal(&p.amount))
                .unwrap_or_default();
            (
                p.external_id.clone().unwrap(),
                (p.updated_at, price, p.status),
            )
        })
        .collect()
}

#[sqlx::test]
async fn the_catalog_lands_in_medusa_and_follows_price_changes_deletions_and_restores(
    pool: PgPool,
) {
    let medusa = MedusaServer::start().await;
    let proxy = MedusaProxy::start(medusa.url()).await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    let engine = engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, &proxy.url(), medusa.api_key()),
    );

    let first = full_sync(&engine).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.errors);
    assert_eq!(
        medusa_counts(&first),
        MedusaCounts {
            created: 194,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(admin.products().await.len(), 194);
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    assert_eq!(count(&pool, "select count(*) from medusa_outbox").await, 0);

    // Unchanged: Medusa is only read (to find what changed on its side: nothing did), and no
    // Medusa row changes.
    let before = medusa_versions(&admin).await;
    proxy.reset();
    let again = full_sync(&engine).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.errors);
    assert_eq!(
        medusa_counts(&again),
        MedusaCounts {
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    let requests = proxy.requests();
    assert_eq!((requests.post, requests.delete), (0, 0), "{requests:?}");
    assert_eq!(medusa_versions(&admin).await, before);

    // Five prices change and three products go upstream.
    let repriced: BTreeMap<u64, &str> = [
        (3, "1234.56"),
        (17, "0.99"),
        (42, "19.5"),
        (99, "100"),
        (150, "77.07"),
    ]
    .into_iter()
    .collect();
    for (id, price) in &repriced {
        assert!(sim.set_field(*id, "price", Some(price)).unwrap());
    }
    for id in [5, 60, 120] {
        sim.delete(id);
    }
    proxy.reset();
    let changed = full_sync(&engine).await;
    assert_eq!(changed.status, RunStatus::Succeeded, "{:?}", changed.errors);
    assert_eq!((changed.counts.updated, changed.counts.archived), (5, 3));
    assert_eq!(
        medusa_counts(&changed),
        MedusaCounts {
            updated: 5,
            archived: 3,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    // What reached Medusa: the five new prices, the three drafts, and nothing else changed
    // (however the pushes were cut into requests, which depends on when batches commit).
    let after = medusa_versions(&admin).await;
    let price_changed: BTreeSet<u64> = after
        .iter()
        .filter(|(id, (_, price, _))| before[*id].1 != *price)
        .map(|(id, _)| id.parse().unwrap())
        .collect();
    assert_eq!(price_changed, repriced.keys().copied().collect());
    for (id, price) in &repriced {
        assert_eq!(after[&id.to_string()].1, decimal(price));
    }
    let drafts: BTreeSet<&str> = after
        .iter()
        .filter(|(_, (_, _, status))| status == "draft")
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(drafts, BTreeSet::from(["5", "60", "120"]));
    let touched: BTreeSet<&str> = after
        .iter()
        .filter(|(id, (updated_at, _, _))| before[*id].0 != *updated_at)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(touched.len(), 8, "only the changed products: {touched:?}");
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;

    // A product back upstream is published again, as the same Medusa product.
    assert!(sim.restore(60));
    let restored = full_sync(&engine).await;
    assert_eq!(
        restored.status,
        RunStatus::Succeeded,
        "{:?}",
        restored.errors
    );
    assert_eq!(
        medusa_counts(&restored),
        MedusaCounts {
            updated: 1,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(admin.count_by_external_id("60").await, 1);
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
}

#[sqlx::test]
async fn a_full_sync_undoes_edits_and_deletions_made_in_the_medusa_admin(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let proxy = MedusaProxy::start(medusa.url()).await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    let engine = engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, &proxy.url(), medusa.api_key()),
    );
    let first = full_sync(&engine).await;
    assert_eq!(medusa_counts(&first).created, 194);

    // Someone edits products in the Medusa admin, and deletes one; the upstream is unchanged.
    let products = by_external_id(admin.products().await);
    let edit = |id: &str, body: serde_json::Value| {
        let (admin, path) = (
            admin.clone(),
            format!("/admin/products/{}", products[id].id),
        );
        async move { admin.post_ok(&path, &body).await }
    };
    edit("3", serde_json::json!({"title": "Edited in Medusa"})).await;
    edit(
        "42",
        serde_json::json!({"handle": "edited-in-medusa", "status": "draft"}),
    )
    .await;
    edit(
        "99",
        serde_json::json!({"metadata": {"brand": "Someone else", "note": "theirs"}}),
    )
    .await;
    edit("120", serde_json::json!({"tags": []})).await;
    let p17 = &products["17"];
    admin
        .post_ok(
            &format!("/admin/products/{}/variants/{}", p17.id, p17.variants[0].id),
            &serde_json::json!({"prices": [{"currency_code": "eur", "amount": 1}]}),
        )
        .await;
    let p60 = &products["60"];
    admin
        .delete_ok(&format!(
            "/admin/products/{}/variants/{}",
            p60.id, p60.variants[0].id
        ))
        .await;
    admin
        .delete_ok(&format!("/admin/products/{}", products["150"].id))
        .await;

    let healed = full_sync(&engine).await;
    assert_eq!(healed.status, RunStatus::Succeeded, "{:?}", healed.errors);
    assert_eq!(
        medusa_counts(&healed),
        MedusaCounts {
            corrected: 7,
            updated: 6,
            created: 1,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(healed.counts.unchanged, 194, "the catalog did not change");
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    let after = by_external_id(admin.products().await);
    assert_eq!(
        after["99"].metadata["note"], "theirs",
        "keys we do not write stay"
    );
    assert_ne!(after["150"].id, products["150"].id, "created again");
    assert_eq!(
        after["150"].handle, products["150"].handle,
        "with its handle"
    );

    // Corrected, nothing has drifted: the next full sync only reads Medusa.
    proxy.reset();
    let again = full_sync(&engine).await;
    assert_eq!(medusa_counts(&again).corrected, 0);
    let requests = proxy.requests();
    assert_eq!((requests.post, requests.delete), (0, 0), "{requests:?}");
}

#[sqlx::test]
async fn pushes_owed_while_medusa_is_down_are_delivered_once_without_duplicates(pool: PgPool) {
    let mut medusa = MedusaServer::start().await;
    let mut proxy = MedusaProxy::start(medusa.url()).await;
    let sim = dummyjson_simulator().await;
    let settings = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    let engine = engine_with_sink(&pool, &sim, settings.clone());

    // Medusa is stopped: the catalog is written all the same and the run records what it owes.
    medusa.stop().await;
    let down = full_sync(&engine).await;
    assert_eq!(
        down.counts.created, 194,
        "the catalog does not wait for Medusa"
    );
    assert_eq!(down.status, RunStatus::Partial);
    let counts = medusa_counts(&down);
    assert_eq!((counts.created, counts.owed), (0, 194), "{counts:?}");
    assert!(
        down.errors
            .iter()
            .any(|e| e.kind == ErrorKind::Medusa && e.message.contains("194 pushes")),
        "{:?}",
        down.errors
    );
    assert_eq!(
        count(&pool, "select count(*) from medusa_outbox").await,
        194
    );

    // Back: the worker's retry loop delivers what was owed, without a run.
    medusa.start_again().await;
    let shutdown = CancellationToken::new();
    let retrying = tokio::spawn({
        let (sink, shutdown) = (sink(&pool, settings.clone()), shutdown.clone());
        async move { sink.run_pusher(shutdown).await }
    });
    wait_for(Duration::from_secs(120), || async {
        count(&pool, "select count(*) from medusa_outbox").await == 0
    })
    .await;
    shutdown.cancel();
    retrying.await.unwrap();
    let admin = medusa.admin();
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;

    // A batch Medusa carries out while its answer is lost (the client times out, as when our
    // process dies between Medusa's answer and its commit): the next push finds the products by
    // external id and updates them instead of creating them twice. Four products Medusa lacks
    // and we hold no link for are owed:
    let lacking = ["7", "8", "9", "10"];
    let ids: Vec<String> = by_external_id(admin.products().await)
        .into_iter()
        .filter(|(external_id, _)| lacking.contains(&external_id.as_str()))
        .map(|(_, p)| p.id)
        .collect();
    admin
        .post_ok(
            "/admin/products/batch",
            &serde_json::json!({ "delete": ids }),
        )
        .await;
    sqlx::query(
        "with gone as (delete from medusa_links where product_id in \
         (select id from products where external_id = any($1)) returning product_id) \
         insert into medusa_outbox (product_id) select product_id from gone",
    )
    .bind(&lacking[..])
    .execute(&pool)
    .await
    .unwrap();
    let mut short = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    short.request_timeout = Duration::from_secs(1);
    proxy.set_delay(Duration::from_secs(3));
    let lost = full_sync(&engine_with_sink(&pool, &sim, short)).await;
    assert_eq!(lost.status, RunStatus::Partial, "{:?}", lost.errors);
    assert_eq!(medusa_counts(&lost).owed, 4);
    proxy.set_delay(Duration::ZERO);
    // Medusa carried the batch out; only its answer was lost.
    proxy.wait_until_idle().await;
    for id in lacking {
        assert_eq!(
            admin.count_by_external_id(id).await,
            1,
            "{id}: created, answer lost"
        );
    }
    // Two of them go upstream meanwhile: the next run finds them in Medusa all the same and
    // sets them to draft; the other two are updated, none is created.
    sim.delete(7);
    sim.delete(8);
    let recovered = full_sync(&engine).await;
    assert_eq!(
        recovered.status,
        RunStatus::Succeeded,
        "{:?}",
        recovered.errors
    );
    let counts = medusa_counts(&recovered);
    assert_eq!(
        (counts.created, counts.updated, counts.archived),
        (0, 2, 2),
        "{counts:?}"
    );
    for id in 1..=194u64 {
        assert_eq!(admin.count_by_external_id(&id.to_string()).await, 1, "{id}");
    }
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    proxy.set_down(true).await;
}

/// Polls `done` until it holds or `limit` passes.
async fn wait_for<F, Fut>(limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "not done within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test]
async fn a_product_medusa_refuses_fails_alone(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    // Someone else's Medusa product already holds the sku of upstream product 12.
    let sku = sim.product(12).unwrap()["sku"].as_str().unwrap().to_owned();
    admin
        .post_ok(
            "/admin/products",
            &serde_json::json!({
                "title": "Not from the catalog", "handle": "not-from-the-catalog",
                "options": [{"title": "Default option", "values": ["Default"]}],
                "variants": [{"title": "Default", "sku": sku, "options": {"Default option": "Default"},
                    "prices": [{"currency_code": "eur", "amount": 1}]}]
            }),
        )
        .await;
    let engine = engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, medusa.url(), medusa.api_key()),
    );

    let summary = full_sync(&engine).await;
    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(summary.counts.created, 194, "the catalog has it");
    assert_eq!(
        medusa_counts(&summary),
        MedusaCounts {
            created: 193,
            failed: 1,
            linked: 193,
            ..MedusaCounts::default()
        }
    );
    let errors: Vec<_> = summary
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::Medusa)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].product_id.as_deref(), Some("12"));
    assert!(errors[0].message.contains(&sku), "{}", errors[0].message);
    assert_eq!(admin.count_by_external_id("12").await, 0);
    assert_eq!(
        admin.products().await.len(),
        194,
        "193 of ours and the other one"
    );

    // Each full sync gives a refused product one more try; it fails alone again. Two products
    // deleted in Medusa by hand and changed upstream come back: their links are found stale
    // (Medusa answers 404 for them) and the products are created again.
    let deleted: Vec<String> = by_external_id(admin.products().await)
        .into_iter()
        .filter(|(id, _)| id == "20" || id == "21")
        .map(|(_, p)| p.id)
        .collect();
    admin
        .post_ok(
            "/admin/products/batch",
            &serde_json::json!({ "delete": deleted }),
        )
        .await;
    assert!(sim.set_field(20, "price", Some("5.55")).unwrap());
    assert!(sim.set_field(21, "price", Some("6.66")).unwrap());
    let again = full_sync(&engine).await;
    assert_eq!(
        medusa_counts(&again),
        MedusaCounts {
            created: 2,
            failed: 1,
            linked: 193,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(admin.products().await.len(), 194);
    for id in ["20", "21"] {
        assert_eq!(admin.count_by_external_id(id).await, 1, "{id}");
    }
}

#[sqlx::test]
async fn a_suffixed_handle_and_a_title_that_reads_the_same_stay_two_products_in_medusa(
    pool: PgPool,
) {
    let medusa = MedusaServer::start().await;
    let sim = crate::support::simulator(20).await;
    // Two products titled "Lamp": the second one's catalog handle is `lamp--5`. A third is
    // titled "Lamp 5": its handle is `lamp-5`, which a `--` read as `-` would also give.
    sim.set_title(4, "Lamp");
    sim.set_title(5, "Lamp");
    sim.set_title(9, "Lamp 5");
    let admin = medusa.admin();
    let engine = engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, medusa.url(), medusa.api_key()),
    );

    let first = full_sync(&engine).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.errors);
    assert_eq!(medusa_counts(&first).created, 20);
    let handles: BTreeMap<String, String> = by_external_id(admin.products().await)
        .into_iter()
        .map(|(id, p)| (id, p.handle))
        .collect();
    assert_eq!(handles["4"], "lamp");
    assert_eq!(handles["5"], "lamp-id-5");
    assert_eq!(handles["9"], "lamp-5");
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    let kept: Vec<(String, String)> = sqlx::query_as(
        "select p.external_id, l.medusa_handle from medusa_links l \
         join products p on p.id = l.product_id where p.external_id in ('4', '5', '9') \
         order by p.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        kept,
        [("4", "lamp"), ("5", "lamp-id-5"), ("9", "lamp-5")]
            .map(|(id, handle)| (id.to_owned(), handle.to_owned())),
        "each product's Medusa handle is kept with its link"
    );
}

#[sqlx::test]
async fn a_category_or_tag_deleted_in_medusa_is_made_again_and_its_products_land(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    let engine = engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, medusa.url(), medusa.api_key()),
    );
    let first = full_sync(&engine).await;
    assert_eq!(medusa_counts(&first).created, 194);

    // Someone deletes the category "beauty" (products 1 to 5) and the tag "perfumes"
    // (products 6 to 10, among others) in the Medusa admin; products of each change upstream.
    let category = admin
        .get_json("/admin/product-categories?handle[]=beauty&fields=id")
        .await;
    let category = category["product_categories"][0]["id"].as_str().unwrap();
    admin
        .delete_ok(&format!("/admin/product-categories/{category}"))
        .await;
    let tag = admin
        .get_json("/admin/product-tags?value[]=perfumes&fields=id")
        .await;
    let tag = tag["product_tags"][0]["id"].as_str().unwrap();
    admin.delete_ok(&format!("/admin/product-tags/{tag}")).await;
    assert!(sim.set_field(1, "price", Some("10.01")).unwrap());
    assert!(sim.set_field(7, "price", Some("130.07")).unwrap());

    let healed = full_sync(&engine).await;
    assert_eq!(healed.status, RunStatus::Succeeded, "{:?}", healed.errors);
    assert_eq!(medusa_counts(&healed).failed, 0);
    let products = by_external_id(admin.products().await);
    let beauty: Vec<(&str, &str)> = products["1"]
        .categories
        .iter()
        .map(|c| (c.handle.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(beauty, [("beauty", "Beauty")], "made again");
    assert_eq!(
        decimal(&products["1"].variants[0].prices[0].amount),
        "10.01"
    );
    let tags: BTreeSet<&str> = products["7"]
        .tags
        .iter()
        .map(|t| t.value.as_str())
        .collect();
    assert_eq!(tags, BTreeSet::from(["fragrances", "perfumes"]));
    assert_eq!(
        decimal(&products["7"].variants[0].prices[0].amount),
        "130.07"
    );
    let kept: Vec<String> = sqlx::query_scalar(
        "select medusa_category_id from medusa_categories \
         union all select medusa_tag_id from medusa_tags",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        !kept.iter().any(|id| id == category || id == tag),
        "the stale ids are forgotten"
    );
    // The other products of the category and the tag lost them in Medusa: put back too.
    assert!(medusa_counts(&healed).corrected >= 8, "{healed:?}");
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
}

#[sqlx::test]
async fn a_product_updated_event_reaches_medusa(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let settings = medusa_settings(&sim, medusa.url(), medusa.api_key());
    let first = full_sync(&engine_with_sink(&pool, &sim, settings.clone())).await;
    assert_eq!(medusa_counts(&first).created, 194);

    let mut app = TestApp::new(&pool, &sim).await;
    app.settings.engine.medusa = Some(settings);
    app.start_worker();
    assert!(sim.set_field(33, "price", Some("4321.09")).unwrap());
    let admin = medusa.admin();
    let sent = Instant::now();
    app.publish("product.updated", None, br#"{"product_id":33}"#)
        .await;
    wait_for(Duration::from_secs(30), || async {
        let products = by_external_id(admin.products().await);
        decimal(&products["33"].variants[0].prices[0].amount) == "4321.09"
    })
    .await;
    eprintln!("product.updated reached Medusa in {:?}", sent.elapsed());
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    app.stop().await;
}

/// A catalog product's price as the catalog holds it.
async fn catalog_price(pool: &PgPool, external_id: &str) -> Option<String> {
    sqlx::query_scalar("select price::text from products where external_id = $1")
        .bind(external_id)
        .fetch_one(pool)
        .await
        .expect("the product is in the catalog")
}

/// A product's price in Medusa, read directly (not through the proxy).
async fn medusa_price(admin: &MedusaAdmin, external_id: &str) -> String {
    let products = by_external_id(admin.products().await);
    decimal(&products[external_id].variants[0].prices[0].amount)
}

#[sqlx::test]
async fn events_reach_the_catalog_and_are_acknowledged_while_medusa_holds_their_push_back(
    pool: PgPool,
) {
    let medusa = MedusaServer::start().await;
    let proxy = MedusaProxy::start(medusa.url()).await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    let settings = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    let first = full_sync(&engine_with_sink(&pool, &sim, settings.clone())).await;
    assert_eq!(medusa_counts(&first).created, 194);

    let mut app = TestApp::new(&pool, &sim).await;
    app.settings.engine.medusa = Some(settings);
    app.start_worker();
    // Medusa takes as long as the test wants: every write waits at the proxy.
    proxy.hold_writes(true);
    assert!(sim.set_field(33, "price", Some("4321.09")).unwrap());
    app.publish("product.updated", None, br#"{"product_id":33}"#)
        .await;
    wait_for(Duration::from_secs(60), || async {
        catalog_price(&pool, "33").await.as_deref() == Some("4321.09") && proxy.in_flight().held > 0
    })
    .await;
    // The next event is not held behind that push, and neither waits for Medusa to be settled.
    assert!(sim.set_field(34, "price", Some("1.23")).unwrap());
    app.publish("product.updated", None, br#"{"product_id":34}"#)
        .await;
    wait_for(Duration::from_secs(60), || async {
        catalog_price(&pool, "34").await.as_deref() == Some("1.23")
            && app.updates_consumer_idle().await
    })
    .await;
    // A full sync requested meanwhile ends too, its summary saying what the pusher owes.
    app.publish("catalog.sync.requested", Some("full-while-held"), b"{}")
        .await;
    wait_for(Duration::from_secs(60), || async {
        app.requests_consumer_idle().await
            && app
                .results("catalog.sync.completed")
                .await
                .iter()
                .any(|s| s["request_id"] == "full-while-held")
    })
    .await;
    assert!(proxy.in_flight().held > 0, "{:?}", proxy.in_flight());
    assert_ne!(
        medusa_price(&admin, "33").await,
        "4321.09",
        "not pushed yet"
    );
    let summaries = app.results("catalog.sync.completed").await;
    let full = summaries
        .iter()
        .find(|s| s["request_id"] == "full-while-held")
        .unwrap();
    assert_eq!(full["status"], "succeeded", "{full}");
    let counts = &full["counts"]["medusa"];
    assert_eq!(counts["delivered_by"], "pusher", "{counts}");
    assert!(counts["owed"].as_u64().unwrap() >= 2, "{counts}");
    assert_eq!(counts["linked"], 194, "{counts}");

    // Medusa answers again: the pusher delivers.
    proxy.hold_writes(false);
    wait_for(Duration::from_secs(60), || async {
        medusa_price(&admin, "33").await == "4321.09" && medusa_price(&admin, "34").await == "1.23"
    })
    .await;
    app.stop().await;
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
}

/// `catalog-sync sync` has no pusher that outlives it: it delivers what it owes before it
/// ends, waiting out the claims of a pusher that died, and its summary counts Medusa the way
/// `status` does.
#[sqlx::test]
async fn a_sync_delivers_what_a_dead_pusher_held_and_counts_it_as_status_does(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let store = Store::from_pool(pool.clone());
    // The catalog is written and queued for Medusa; a pusher claimed 50 products and died.
    assert!(store.enable_medusa().await.unwrap());
    full_sync(&engine(&pool, &sim)).await;
    let dead = store
        .claim_medusa(50, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(dead.len(), 50);

    let summary = full_sync(&engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, medusa.url(), medusa.api_key()),
    ))
    .await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.errors);
    assert_eq!(
        medusa_counts(&summary),
        MedusaCounts {
            created: 194,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(medusa.admin().products().await.len(), 194);
    let state = store.medusa_state().await.unwrap().expect("the sink ran");
    assert_eq!(
        (state.backlog.linked, state.backlog.owed, state.backlog.held),
        (194, 0, 0),
        "status counts what the summary counts"
    );
}

/// Rounds of the randomised convergence test below.
const ROUNDS: usize = 6;

/// Random upstream changes (prices, titles, deletions, restores) and random Medusa faults
/// (down for a whole run, answers to writes lost after Medusa carried them out), over full and
/// targeted runs: once the faults stop, one full sync leaves Medusa equal to the catalog field
/// by field, with no product twice. `MEDUSA_CONVERGE_SEED` replays a schedule.
#[sqlx::test]
async fn medusa_converges_to_the_catalog_under_random_changes_and_faults(pool: PgPool) {
    let seed = std::env::var("MEDUSA_CONVERGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("MEDUSA_CONVERGE_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let medusa = MedusaServer::start().await;
    let mut proxy = MedusaProxy::start(medusa.url()).await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    let settings = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    let mut impatient = settings.clone();
    impatient.request_timeout = Duration::from_secs(1);
    let engine = engine_with_sink(&pool, &sim, settings);
    let hasty = engine_with_sink(&pool, &sim, impatient);

    for round in 0..ROUNDS {
        let mut changed = BTreeSet::new();
        for _ in 0..rng.usize(3..12) {
            let id = rng.u64(1..=194);
            changed.insert(id.to_string());
            match rng.u8(0..4) {
                0 => {
                    let price = format!("{}.{:02}", rng.u32(1..5000), rng.u32(0..100));
                    sim.set_field(id, "price", Some(&price)).unwrap();
                }
                1 => {
                    let title = format!("\"Round {round} product {id}\"");
                    sim.set_field(id, "title", Some(&title)).unwrap();
                }
                2 => sim.delete(id),
                _ => {
                    sim.restore(id);
                }
            }
        }
        let fault = rng.u8(0..3);
        match fault {
            1 => proxy.set_down(true).await,
            2 => proxy.set_delay(Duration::from_secs(3)),
            _ => {}
        }
        let runner = if fault == 2 { &hasty } else { &engine };
        let summary = if rng.bool() {
            full_sync(runner).await
        } else {
            run(
                runner,
                RunRequest::new(Target::Products(changed.into_iter().collect())),
            )
            .await
        };
        eprintln!(
            "round {round}: fault {fault}, {} run {:?}, medusa {:?}",
            summary.mode.as_str(),
            summary.status,
            summary.counts.medusa
        );
        proxy.set_down(false).await;
        if fault == 2 {
            proxy.set_delay(Duration::ZERO);
            // What Medusa carried out while its answers were held back is done before the
            // next round looks for it.
            proxy.wait_until_idle().await;
        }
    }

    let last = full_sync(&engine).await;
    assert_eq!(
        last.status,
        RunStatus::Succeeded,
        "seed {seed}: {:?}",
        last.errors
    );
    assert_eq!(medusa_counts(&last).owed, 0, "seed {seed}");
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
}

#[sqlx::test]
async fn with_medusa_archive_delete_gone_products_are_deleted_and_come_back_as_new_ones(
    pool: PgPool,
) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();

    // Settings the store cannot honour are named in the run's error, and nothing is pushed.
    let mut wrong_currency = medusa_settings(&sim, medusa.url(), medusa.api_key());
    wrong_currency.currency = "usd".into();
    let refused = full_sync(&engine_with_sink(&pool, &sim, wrong_currency)).await;
    assert_eq!(refused.status, RunStatus::Partial);
    assert!(
        refused
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::Medusa && e.message.contains("MEDUSA_CURRENCY usd")),
        "{:?}",
        refused.errors
    );
    let mut wrong_channel = medusa_settings(&sim, medusa.url(), medusa.api_key());
    wrong_channel.sales_channel = Some("sc_does_not_exist".into());
    let refused = full_sync(&engine_with_sink(&pool, &sim, wrong_channel)).await;
    assert!(
        refused
            .errors
            .iter()
            .any(|e| e.message.contains("MEDUSA_SALES_CHANNEL sc_does_not_exist")),
        "{:?}",
        refused.errors
    );
    assert!(admin.products().await.is_empty());

    let mut settings = medusa_settings(&sim, medusa.url(), medusa.api_key());
    settings.archive = catalog_sync::settings::MedusaArchive::Delete;
    let engine = engine_with_sink(&pool, &sim, settings);
    let first = full_sync(&engine).await;
    assert_eq!(
        medusa_counts(&first).created,
        194,
        "what was owed is pushed"
    );
    let before = by_external_id(admin.products().await);

    sim.delete(8);
    let gone = full_sync(&engine).await;
    assert_eq!(
        medusa_counts(&gone),
        MedusaCounts {
            archived: 1,
            linked: 193,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(
        admin.count_by_external_id("8").await,
        0,
        "deleted in Medusa"
    );
    assert_eq!(admin.products().await.len(), 193);

    assert!(sim.restore(8));
    let back = full_sync(&engine).await;
    assert_eq!(
        medusa_counts(&back),
        MedusaCounts {
            created: 1,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    let after = by_external_id(admin.products().await);
    assert_eq!(after.len(), 194);
    assert_ne!(after["8"].id, before["8"].id, "a new Medusa product");
    assert_eq!(
        after["8"].handle, before["8"].handle,
        "the handle is free again"
    );
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
}

/// The outbox without Medusa: a claim keeps other pushers off the products while it holds, a
/// renewed one keeps holding, one that lapses (its pusher died) lets the products go.
#[sqlx::test]
async fn claims_on_owed_products_hold_while_renewed_and_lapse_when_not(pool: PgPool) {
    let sim = crate::support::simulator(20).await;
    let store = Store::from_pool(pool.clone());
    assert!(store.enable_medusa().await.unwrap(), "the sink was off");
    full_sync(&engine(&pool, &sim)).await;
    assert_eq!(count(&pool, "select count(*) from medusa_outbox").await, 20);

    let lease = Duration::from_secs(3);
    let renewed = store.claim_medusa(10, lease).await.unwrap();
    let lapsing = store.claim_medusa(10, lease).await.unwrap();
    assert_eq!((renewed.len(), lapsing.len()), (10, 10));
    let ids: Vec<i64> = renewed.iter().map(|c| c.product_id).collect();
    store
        .extend_medusa_claims(&ids, Duration::from_secs(3600))
        .await
        .unwrap();
    // The lapsing claims end by themselves, the renewed ones do not.
    wait_for(Duration::from_secs(60), || async {
        count(
            &pool,
            "select count(*) from medusa_outbox where claimed_until < now()",
        )
        .await
            == 10
    })
    .await;
    let free: BTreeSet<i64> = store
        .claim_medusa(20, Duration::from_secs(3600))
        .await
        .unwrap()
        .iter()
        .map(|c| c.product_id)
        .collect();
    let lapsed: BTreeSet<i64> = lapsing.iter().map(|c| c.product_id).collect();
    assert_eq!(free, lapsed, "only the claims not renewed lapsed");
    assert!(
        store.claim_medusa(20, lease).await.unwrap().is_empty(),
        "all held again"
    );
}
