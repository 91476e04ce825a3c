//! Record fingerprints: a full sync knows an unchanged product by the exact bytes of its
//! listing record and does not decode it. A product stored without one (written before
//! fingerprints, or by an event) gets it once, without its row being rewritten otherwise.

use crate::support::*;
use catalog_sync::domain::RunStatus;
use sqlx::PgPool;

/// A product's id, record fingerprint, and when a sync last changed it.
type Fingerprinted = (String, Option<Vec<u8>>, chrono::DateTime<chrono::Utc>);

async fn fingerprints(pool: &PgPool) -> Vec<Fingerprinted> {
    sqlx::query_as(
        "select external_id, record_fingerprint, last_synced_at from products order by external_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn unchanged_records_are_known_by_their_bytes_and_missing_fingerprints_filled_once(
    pool: PgPool,
) {
    let sim = simulator(300).await;
    let engine = engine(&pool, &sim);
    assert_eq!(full_sync(&engine).await.counts.created, 300);
    let first = fingerprints(&pool).await;
    assert!(
        first
            .iter()
            .all(|(_, f, _)| f.as_ref().is_some_and(|f| f.len() == 16))
    );

    // Rows from before fingerprints (or written by events) have none.
    sqlx::query("update products set record_fingerprint = null where external_id in ('1', '2')")
        .execute(&pool)
        .await
        .unwrap();
    let versions = row_versions(&pool).await;
    let again = full_sync(&engine).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    assert_eq!(again.counts.unchanged, 300, "{again:?}");
    assert_eq!(
        fingerprints(&pool).await,
        first,
        "filled in, nothing else changed"
    );
    let rewritten: Vec<String> = row_versions(&pool)
        .await
        .into_iter()
        .zip(versions)
        .filter(|(now, before)| now != before)
        .map(|(now, _)| now.0)
        .collect();
    assert_eq!(rewritten, ["1", "2"], "only the two got their fingerprint");

    let versions = row_versions(&pool).await;
    let quiet = full_sync(&engine).await;
    assert_eq!(quiet.counts.unchanged, 300);
    assert_eq!(row_versions(&pool).await, versions, "no row written at all");

    // A record whose bytes change is read again, and the product follows it.
    sim.mutate(7);
    let changed = full_sync(&engine).await;
    assert_eq!(
        (changed.counts.updated, changed.counts.unchanged),
        (1, 299),
        "{changed:?}"
    );
    let seven =
        |rows: &[Fingerprinted]| rows.iter().find(|(id, _, _)| id == "7").unwrap().1.clone();
    assert_ne!(seven(&fingerprints(&pool).await), seven(&first));
    let price: String =
        sqlx::query_scalar("select price::text from products where external_id = '7'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&price).unwrap(),
        sim.product(7).unwrap()["price"]
    );

    // An archived product is never taken for unchanged: listed again, it is restored.
    sqlx::query("update products set archived_at = now() where external_id = '9'")
        .execute(&pool)
        .await
        .unwrap();
    let restored = full_sync(&engine).await;
    assert_eq!(restored.counts.updated, 1, "{restored:?}");
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        0
    );
}

#[sqlx::test]
async fn pages_are_sifted_with_a_plan_made_for_the_catalog_as_it_is_now(pool: PgPool) {
    use sqlx::Connection as _;
    // A first load grows the catalog under the sift: a plan cached while it was nearly empty
    // (a sequential scan of products per page) would make the load quadratic. The statement
    // is planned afresh each time, so no connection keeps a prepared copy of it.
    let url = database_url(&pool);
    let single = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let store = catalog_sync::store::Store::from_pool(single.clone());
    for round in 0..8 {
        let id = round.to_string();
        store
            .unchanged_records(&[id.as_str()], &[&[0u8; 16][..]])
            .await
            .unwrap();
    }
    let mut connection = single.acquire().await.unwrap();
    assert_eq!(connection.cached_statements_size(), 0);
    connection.ping().await.unwrap();
}
