//! What a full sync corrects on Medusa's side: edits and deletions made in the Medusa admin, and
//! the ids of categories and tags deleted there.

use std::collections::BTreeSet;

use catalog_sync::domain::{MedusaCounts, RunStatus};
use sqlx::PgPool;

use crate::support::full_sync;
use crate::support::medusa::{MedusaProxy, MedusaServer, dummyjson_simulator};
use crate::support::medusa_catalog::{
    assert_medusa_equals_catalog, by_external_id, decimal, engine_with_sink, medusa_counts,
    medusa_settings,
};

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
