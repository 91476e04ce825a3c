//! A database whose products were pushed to Medusa before products had variants: each keeps
//! its Medusa variant, linked to its first variant; a product sold one way stays as Medusa has
//! it, and one with options or several variants is queued to get them.

use sqlx::PgPool;
use sqlx::migrate::Migrator;

/// The last migration before Medusa variants were linked one by one.
const BEFORE: i64 = 20261209000001;

#[sqlx::test(migrations = false)]
async fn products_pushed_before_variants_keep_their_medusa_variant(pool: PgPool) {
    let all = Migrator::new(std::path::Path::new("migrations"))
        .await
        .expect("the migrations");
    let mut earlier = Migrator::new(std::path::Path::new("migrations"))
        .await
        .expect("the migrations");
    earlier.migrations = all
        .migrations
        .iter()
        .filter(|m| m.version <= BEFORE)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    earlier.run(&pool).await.expect("the earlier migrations");

    for statement in [
        "insert into products (id, external_id, handle, title, content_hash, options) overriding system value values \
         (1, 'one-way', 'one-way', 'Sold one way', '\\x01', '[]'), \
         (2, 'shirt', 'shirt', 'Shirt', '\\x02', '[{\"name\": \"Size\", \"values\": [\"S\", \"M\"]}]')",
        "insert into product_variants (product_id, external_id, title, position, options, content_hash) values \
         (1, 'one-way', 'Sold one way', 0, '{}', null), \
         (2, 's', 'S', 0, '{\"Size\": \"S\"}', '\\x21'), \
         (2, 'm', 'M', 1, '{\"Size\": \"M\"}', '\\x22')",
        "insert into medusa_links (product_id, medusa_product_id, medusa_variant_id, medusa_handle, pushed_hash, pushed_status) values \
         (1, 'prod_1', 'variant_1', 'one-way', '\\x01', 'published'), \
         (2, 'prod_2', 'variant_2', 'shirt', '\\x02', 'published')",
        // After the products: their insert would queue them.
        "insert into medusa_sink default values",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect(statement);
    }
    all.run(&pool).await.expect("the later migrations");

    let links: Vec<(String, String, String, Option<Vec<u8>>)> = sqlx::query_as(
        "select p.external_id, v.external_id, l.medusa_variant_id, l.pushed_hash \
         from medusa_variant_links l join product_variants v on v.id = l.variant_id \
         join products p on p.id = l.product_id order by p.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        links,
        [
            (
                "one-way".into(),
                "one-way".into(),
                "variant_1".into(),
                Some(Vec::new())
            ),
            ("shirt".into(), "s".into(), "variant_2".into(), None),
        ]
    );
    let queued: Vec<i64> = sqlx::query_scalar("select product_id from medusa_outbox")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(queued, [2], "only the product in variants is owed");
    let column: Option<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns \
         where table_name = 'medusa_links' and column_name = 'medusa_variant_id'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(column, None, "the variant links are the one place");
}
