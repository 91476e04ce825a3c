//! The Medusa sink against a real Medusa v2 server (`scripts/medusa`), with the simulator
//! serving the real DummyJSON catalog: the store is read back and compared with the catalog
//! tables field by field, and the requests Medusa receives are counted by a proxy. What a full
//! sync corrects on Medusa's side is in `medusa_drift`, who pushes in `medusa_pusher`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use catalog_sync::domain::{ErrorKind, MedusaCounts, RunStatus};
use catalog_sync::engine::{RunRequest, Target};
use catalog_sync::store::{SinkSwitch, Store};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::support::medusa::{MedusaProxy, MedusaServer, dummyjson_simulator};
use crate::support::medusa_catalog::{
    assert_medusa_equals_catalog, by_external_id, decimal, engine_with_sink, medusa_counts,
    medusa_settings, medusa_versions, sink, wait_for,
};
use crate::support::{count, engine, full_sync, run};

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

    // A setting the store cannot honour is named in the run's error, and nothing is pushed.
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
    assert_eq!(
        store.enable_medusa().await.unwrap(),
        SinkSwitch::TurnedOn,
        "the sink was off"
    );
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
