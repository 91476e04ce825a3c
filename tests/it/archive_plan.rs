//! The archive step's statements keep their plan whatever the statistics say. The seen-id list
//! is emptied at the end of every run, so after autovacuum its statistics say "empty" while the
//! next run fills it with the whole catalog; a plan that trusts them is quadratic.

use crate::support::*;
use sqlx::PgPool;

/// The candidate set exactly as the store builds it around `candidates.sql`.
const COUNT_CANDIDATES: &str = concat!(
    "explain (format json) select count(*) from (",
    include_str!("../../src/store/sql/candidates.sql"),
    ") c"
);

const COUNT_GONE: &str = concat!(
    "explain (format json) select count(*) from (",
    include_str!("../../src/store/sql/gone.sql"),
    ") g"
);

/// Whether `plan` scans `table` sequentially anywhere below it.
fn scans(plan: &serde_json::Value, table: &str) -> bool {
    let here = plan["Node Type"] == "Seq Scan" && plan["Relation Name"] == table;
    here || children(plan).any(|child| scans(child, table))
}

fn children(plan: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    plan.get("Plans")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
}

/// Whether a nested loop of `plan` scans `table` sequentially on its inner side: once per
/// row of the outer side.
fn loops_over(plan: &serde_json::Value, table: &str) -> bool {
    let here = plan["Node Type"] == "Nested Loop"
        && children(plan)
            .nth(1)
            .is_some_and(|inner| scans(inner, table));
    here || children(plan).any(|child| loops_over(child, table))
}

#[sqlx::test]
async fn archive_candidates_are_never_a_nested_loop_over_an_empty_looking_seen_list(pool: PgPool) {
    let sim = simulator(3000).await;
    let summary = full_sync(&engine(&pool, &sim)).await;
    assert_eq!(summary.counts.created, 3000, "{summary:?}");

    // What autovacuum leaves after a run emptied the list: statistics of an empty table.
    sqlx::query("vacuum analyze sync_run_seen")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("analyze products")
        .execute(&pool)
        .await
        .unwrap();
    let run: uuid::Uuid = sqlx::query_scalar("select id from sync_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    // The next run lists the whole catalog (and a few ids come back 404).
    sqlx::query(
        "insert into sync_run_seen (run_id, external_id, kind) \
         select $1, external_id, 0 from products \
         union all select $1, external_id, 2 from products where external_id::int % 100 = 0",
    )
    .bind(run)
    .execute(&pool)
    .await
    .unwrap();

    for (what, statement, binds) in [("candidates", COUNT_CANDIDATES, 3), ("gone", COUNT_GONE, 1)] {
        let mut query = sqlx::query_scalar::<_, serde_json::Value>(statement);
        if binds == 3 {
            query = query.bind(vec![run]).bind(Some(run)).bind(run);
        } else {
            query = query.bind(run);
        }
        let plan = query.fetch_one(&pool).await.unwrap();
        for table in ["sync_run_seen", "products"] {
            assert!(
                !loops_over(&plan[0]["Plan"], table),
                "{what}: a nested loop over {table}:\n{plan:#}"
            );
        }
    }
}
