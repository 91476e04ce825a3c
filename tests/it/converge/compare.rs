//! Comparing the catalog with the upstream: every live product's mapped fields, exactly, and
//! the archived set. Written independently of the service's own mapping code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use catalog_sync_simulator::{SimVariant, Simulator};
use serde_json::Value;
use sqlx::PgPool;

/// The upstream fields kept in `attributes`, as the README documents.
const ATTRIBUTES: [&str; 10] = [
    "discountPercentage",
    "rating",
    "weight",
    "dimensions",
    "warrantyInformation",
    "shippingInformation",
    "availabilityStatus",
    "returnPolicy",
    "minimumOrderQuantity",
    "meta",
];

/// Most products a diff lists.
const MAX_LISTED: usize = 20;

/// A catalog row as the comparison reads it.
#[derive(Debug)]
struct Row {
    title: String,
    description: String,
    category: Option<String>,
    brand: Option<String>,
    sku: Option<String>,
    price: Option<String>,
    stock: Option<i64>,
    tags: Vec<String>,
    images: Vec<String>,
    thumbnail: Option<String>,
    attributes: Value,
    source_updated_at: Option<String>,
    archived: bool,
}

type RowTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Vec<String>,
    Vec<String>,
    Option<String>,
    Value,
    Option<String>,
    bool,
);

async fn rows(pool: &PgPool) -> BTreeMap<String, Row> {
    let tuples: Vec<RowTuple> = sqlx::query_as(
        r#"select p.external_id, p.title, p.description, c.slug, p.brand, p.sku, p.price::text,
            p.stock, p.tags, p.images, p.thumbnail, p.attributes,
            to_char(p.source_updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            p.archived_at is not null
        from products p left join categories c on c.id = p.category_id"#,
    )
    .fetch_all(pool)
    .await
    .expect("catalog rows");
    tuples
        .into_iter()
        .map(|t| {
            (
                t.0,
                Row {
                    title: t.1,
                    description: t.2,
                    category: t.3,
                    brand: t.4,
                    sku: t.5,
                    price: t.6,
                    stock: t.7,
                    tags: t.8,
                    images: t.9,
                    thumbnail: t.10,
                    attributes: t.11,
                    source_updated_at: t.12,
                    archived: t.13,
                },
            )
        })
        .collect()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The differences between the row and the upstream product, field by field; with `variants`
/// (a source that maps them), its SKU, price and stock are its variants'.
fn differences(row: &Row, upstream: &Value, variants: Option<&[SimVariant]>) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, stored: String, wanted: String| {
        if stored != wanted {
            out.push(format!("{name}: stored {stored}, upstream {wanted}"));
        }
    };
    field("archived", row.archived.to_string(), "false".into());
    field(
        "title",
        format!("{:?}", row.title),
        format!("{:?}", text(upstream, "title").unwrap_or_default()),
    );
    field(
        "description",
        format!("{:?}", row.description),
        format!("{:?}", text(upstream, "description").unwrap_or_default()),
    );
    field(
        "category",
        format!("{:?}", row.category),
        format!("{:?}", text(upstream, "category")),
    );
    field(
        "brand",
        format!("{:?}", row.brand),
        format!("{:?}", text(upstream, "brand")),
    );
    let (sku, price, stock) = match variants {
        None => (
            text(upstream, "sku"),
            upstream.get("price").map(Value::to_string),
            upstream.get("stock").and_then(Value::as_i64),
        ),
        Some(vs) => (
            vs.first().map(|v| v.sku.clone()),
            vs.iter().map(|v| v.price.clone()).min_by(|a, b| {
                a.parse::<f64>()
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.parse().unwrap_or(f64::MAX))
            }),
            (!vs.is_empty()).then(|| vs.iter().map(|v| v.stock as i64).sum()),
        ),
    };
    field("sku", format!("{:?}", row.sku), format!("{sku:?}"));
    field("price", format!("{:?}", row.price), format!("{price:?}"));
    field("stock", format!("{:?}", row.stock), format!("{stock:?}"));
    field(
        "tags",
        format!("{:?}", row.tags),
        format!("{:?}", list(upstream, "tags")),
    );
    field(
        "images",
        format!("{:?}", row.images),
        format!("{:?}", list(upstream, "images")),
    );
    field(
        "thumbnail",
        format!("{:?}", row.thumbnail),
        format!("{:?}", text(upstream, "thumbnail")),
    );
    let wanted: serde_json::Map<String, Value> = ATTRIBUTES
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), upstream.get(*k)?.clone())))
        .collect();
    // Compared as JSON values, so key order and number spelling do not count.
    let stored_attributes = if row.attributes == Value::Object(wanted.clone()) {
        "equal".to_owned()
    } else {
        row.attributes.to_string()
    };
    field(
        "attributes",
        stored_attributes,
        if row.attributes == Value::Object(wanted.clone()) {
            "equal".to_owned()
        } else {
            Value::Object(wanted).to_string()
        },
    );
    let version = upstream
        .get("meta")
        .and_then(|m| m.get("updatedAt"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    field(
        "source_updated_at",
        format!("{:?}", row.source_updated_at),
        format!("{version:?}"),
    );
    out
}

/// Compares the catalog with the upstream. `None` when they agree; otherwise a minimal diff:
/// the first differing products with only the fields that differ.
pub async fn diff(pool: &PgPool, sim: &Simulator, variants: bool) -> Option<String> {
    let mut rows = rows(pool).await;
    let mut stored_variants = if variants {
        variant_rows(pool).await
    } else {
        BTreeMap::new()
    };
    let mut problems: Vec<String> = Vec::new();
    for id in 1..=sim.last_id() {
        let key = id.to_string();
        let row = rows.remove(&key);
        match (sim.product(id), row) {
            (Some(upstream), Some(row)) => {
                let listed = variants.then(|| sim.variants(id));
                let mut d = differences(&row, &upstream, listed.as_deref());
                if let Some(listed) = &listed {
                    let wanted: Vec<String> = listed.iter().map(variant_text).collect();
                    let stored = stored_variants.remove(&key).unwrap_or_default();
                    if stored != wanted {
                        d.push(format!("variants: stored {stored:?}, upstream {wanted:?}"));
                    }
                }
                if !d.is_empty() {
                    problems.push(format!("product {id}: {}", d.join("; ")));
                }
            }
            (Some(_), None) => problems.push(format!(
                "product {id}: live upstream, missing from the catalog"
            )),
            (None, Some(row)) if !row.archived => problems.push(format!(
                "product {id}: deleted upstream, still live in the catalog"
            )),
            (None, _) => {}
        }
    }
    for (id, row) in rows {
        if !row.archived {
            problems.push(format!(
                "product {id}: never existed upstream, live in the catalog"
            ));
        }
    }
    if problems.is_empty() {
        return None;
    }
    let mut out = format!("{} products differ:\n", problems.len());
    for p in problems.iter().take(MAX_LISTED) {
        let _ = writeln!(out, "  {p}");
    }
    if problems.len() > MAX_LISTED {
        let _ = writeln!(out, "  … and {} more", problems.len() - MAX_LISTED);
    }
    Some(out)
}

/// A variant as the comparison reads it: id, SKU, stock, base and compare-at price, options.
fn variant_text(v: &SimVariant) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        v.id,
        v.sku,
        v.stock,
        v.price,
        v.compare_at_price.as_deref().unwrap_or("-"),
        v.size,
        v.color
    )
}

/// Every live variant in the catalog, by product, in position order.
async fn variant_rows(pool: &PgPool) -> BTreeMap<String, Vec<String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select p.external_id, concat_ws('|', v.external_id, v.sku, v.stock, \
           (select amount::text from variant_prices where variant_id = v.id and kind = 'base'), \
           coalesce((select amount::text from variant_prices \
              where variant_id = v.id and kind = 'compare_at'), '-'), \
           v.options->>'Size', v.options->>'Color') \
         from product_variants v join products p on p.id = v.product_id \
         where v.archived_at is null order by p.id, v.position",
    )
    .fetch_all(pool)
    .await
    .expect("variant rows");
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (product, variant) in rows {
        out.entry(product).or_default().push(variant);
    }
    out
}

/// Every product's handle, to check later that none changed.
pub async fn handles(pool: &PgPool) -> BTreeMap<String, String> {
    sqlx::query_as::<_, (String, String)>("select external_id, handle from products")
        .fetch_all(pool)
        .await
        .expect("handles")
        .into_iter()
        .collect()
}

/// What must hold at every moment, not only once a full sync has healed things: nothing
/// archived that the upstream still has (ids never come back upstream, so an archived live
/// product was archived wrongly), no stored version newer than the upstream's (it would block
/// later syncs), no stored version going back (an older state overwrote a newer one), and no
/// handle changed since `before`. `versions` holds the newest version seen per product.
pub async fn invariants(
    pool: &PgPool,
    sim: &Simulator,
    before: &BTreeMap<String, String>,
    versions: &mut BTreeMap<String, String>,
) -> Option<String> {
    let rows = rows(pool).await;
    let now = handles(pool).await;
    let mut problems = Vec::new();
    for (id, row) in &rows {
        let upstream = id.parse().ok().and_then(|n| sim.product(n));
        if row.archived && upstream.is_some() {
            problems.push(format!("product {id}: archived, but live upstream"));
        }
        let version = upstream
            .as_ref()
            .and_then(|p| p["meta"]["updatedAt"].as_str().map(str::to_owned));
        if let (Some(stored), Some(upstream)) = (&row.source_updated_at, version)
            && !row.archived
            && *stored > upstream
        {
            problems.push(format!(
                "product {id}: stored version {stored} is newer than the upstream's {upstream}"
            ));
        }
        if let (Some(old), Some(new)) = (before.get(id), now.get(id))
            && old != new
        {
            problems.push(format!("product {id}: handle changed from {old} to {new}"));
        }
        match (versions.get(id), &row.source_updated_at) {
            (Some(newest), Some(stored)) if stored < newest => problems.push(format!(
                "product {id}: stored version went back from {newest} to {stored}"
            )),
            (Some(newest), None) => problems.push(format!(
                "product {id}: stored version {newest} was replaced by none"
            )),
            (_, Some(stored)) => {
                versions.insert(id.clone(), stored.clone());
            }
            (None, None) => {}
        }
    }
    if problems.is_empty() {
        return None;
    }
    let listed: Vec<String> = problems.iter().take(MAX_LISTED).cloned().collect();
    Some(format!(
        "{} invariant violations:\n  {}",
        problems.len(),
        listed.join("\n  ")
    ))
}

/// Every recorded summary says `fetched = created + updated + unchanged + failed`.
pub async fn counts_add_up(pool: &PgPool) -> Option<String> {
    let wrong: Vec<(String, Value)> = sqlx::query_as(
        "select request_id, summary->'counts' from sync_runs where summary is not null
         and (summary->'counts'->>'fetched')::int8 <> (summary->'counts'->>'created')::int8
             + (summary->'counts'->>'updated')::int8 + (summary->'counts'->>'unchanged')::int8
             + (summary->'counts'->>'failed')::int8",
    )
    .fetch_all(pool)
    .await
    .expect("summaries");
    (!wrong.is_empty()).then(|| {
        let listed: Vec<String> = wrong
            .iter()
            .take(MAX_LISTED)
            .map(|(id, counts)| format!("{id}: {counts}"))
            .collect();
        format!(
            "{} summaries whose counts do not add up (fetched = created + updated + unchanged + failed):\n  {}",
            wrong.len(),
            listed.join("\n  ")
        )
    })
}
