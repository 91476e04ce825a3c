//! Options, variants, prices and categories, stored from a source with `[variants]`: a model of
//! the upstream at variant level, changed at random between full syncs, and the database
//! compared with it table by table; an unchanged re-run writes no row of any product table, and
//! a changed variant rewrites only its own rows.

use std::collections::BTreeMap;

use crate::sources::{source_at, upstream_for};
use crate::support::*;
use catalog_sync::domain::{RunStatus, RunSummary};
use catalog_sync::engine::Engine;
use catalog_sync_simulator::Simulator;
use serde_json::json;
use sqlx::PgPool;

/// A Shopify-like mapping of DummyJSON-shaped products that carry `options`, `variants` and
/// `categories`, with their plain prices in dollars.
const SOURCE: &str = r#"
currency = "usd"
[list]
url = "ORIGIN/products"
records = "/products"
page_size = 7
[list.paging]
style = "offset"
offset_param = "skip"
total = "/total"
[item]
url = "ORIGIN/products/{id}"
[fields]
external_id = "/id"
title = "/title"
category = "/categories/*/slug"
category_name = "/categories/*/name"
[options]
records = "/options"
[variants]
records = "/variants"
sku = "/sku"
stock = "/stock"
options = ["/option1", "/option2"]
[[variants.prices]]
amount = "/price"
[[variants.prices]]
amount = "/compare_at_price"
kind = "compare_at"
[[variants.prices]]
amount = "/eur"
currency = "eur"
"#;

/// One variant as the upstream serves it.
#[derive(Clone, Debug)]
struct Sold {
    id: u64,
    size: &'static str,
    color: &'static str,
    sku: String,
    stock: Option<i64>,
    price: String,
    compare_at: Option<String>,
    eur: Option<String>,
}

/// What the upstream holds of one product, and what the catalog must hold of it.
#[derive(Clone, Debug)]
struct Model {
    variants: Vec<Sold>,
    categories: Vec<&'static str>,
    /// Every variant id this product ever had (the archived ones stay in the catalog).
    ever: Vec<u64>,
}

const SIZES: [&str; 3] = ["S", "M", "L"];
const COLORS: [&str; 3] = ["Black", "White", "Red"];
const CATEGORIES: [&str; 4] = ["tops", "sale", "new-in", "basics"];

fn cents(rng: &mut fastrand::Rng) -> String {
    format!("{}.{:02}", rng.u32(1..200), rng.u32(0..100))
}

/// Endings a SKU may have that the text format of `COPY` must escape (or that look like its
/// escapes), so new variants' rows are checked to arrive byte for byte.
const AWKWARD: [&str; 9] = ["", "", "\t", "\n", "\r\n", "\\", "\\N", "\\.", " \"é\\x00"];

fn sold(rng: &mut fastrand::Rng, id: u64) -> Sold {
    Sold {
        id,
        size: SIZES[rng.usize(..SIZES.len())],
        color: COLORS[rng.usize(..COLORS.len())],
        sku: format!(
            "SKU-{id}-{}{}",
            rng.u32(..1000),
            AWKWARD[rng.usize(..AWKWARD.len())]
        ),
        stock: rng.bool().then(|| rng.i64(0..50)),
        price: cents(rng),
        compare_at: rng.bool().then(|| cents(rng)),
        eur: rng.bool().then(|| cents(rng)),
    }
}

impl Model {
    fn new(rng: &mut fastrand::Rng, next_id: &mut u64) -> Model {
        let mut model = Model {
            variants: Vec::new(),
            categories: Vec::new(),
            ever: Vec::new(),
        };
        for _ in 0..rng.usize(1..6) {
            model.add(rng, next_id);
        }
        let mut categories = CATEGORIES.to_vec();
        rng.shuffle(&mut categories);
        model.categories = categories[..rng.usize(0..3)].to_vec();
        model
    }

    fn add(&mut self, rng: &mut fastrand::Rng, next_id: &mut u64) {
        *next_id += 1;
        self.variants.push(sold(rng, *next_id));
        self.ever.push(*next_id);
    }

    /// The product's options: each option's values in the order its variants first use them.
    fn options(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut sizes: Vec<&str> = Vec::new();
        let mut colors: Vec<&str> = Vec::new();
        for v in &self.variants {
            if !sizes.contains(&v.size) {
                sizes.push(v.size);
            }
            if !colors.contains(&v.color) {
                colors.push(v.color);
            }
        }
        vec![("Size", sizes), ("Color", colors)]
    }

    fn serve(&self, sim: &Simulator, product: u64) {
        let options: Vec<serde_json::Value> = self
            .options()
            .into_iter()
            .map(|(name, values)| json!({"name": name, "values": values}))
            .collect();
        let variants: Vec<serde_json::Value> = self
            .variants
            .iter()
            .map(|v| {
                json!({"id": v.id, "sku": v.sku, "stock": v.stock, "option1": v.size,
                    "option2": v.color, "price": v.price, "compare_at_price": v.compare_at,
                    "eur": v.eur})
            })
            .collect();
        let categories: Vec<serde_json::Value> = self
            .categories
            .iter()
            .map(|slug| json!({"slug": slug, "name": slug.to_uppercase()}))
            .collect();
        for (field, value) in [
            ("options", json!(options)),
            ("variants", json!(variants)),
            ("categories", json!(categories)),
        ] {
            assert!(
                sim.set_field(product, field, Some(&value.to_string()))
                    .unwrap()
            );
        }
    }

    /// One random change at variant or category level.
    fn change(&mut self, rng: &mut fastrand::Rng, next_id: &mut u64) -> &'static str {
        let n = self.variants.len();
        match rng.u32(0..7) {
            0 => {
                let i = rng.usize(..n);
                self.variants[i].price = cents(rng);
                "base price"
            }
            1 => {
                let i = rng.usize(..n);
                self.variants[i].compare_at = rng.bool().then(|| cents(rng));
                self.variants[i].eur = rng.bool().then(|| cents(rng));
                "other prices"
            }
            2 if n > 1 => {
                self.variants.remove(rng.usize(..n));
                "variant removed"
            }
            3 => {
                self.add(rng, next_id);
                "variant added"
            }
            4 => {
                let i = rng.usize(..n);
                self.variants[i].stock = rng.bool().then(|| rng.i64(0..50));
                self.variants[i].color = COLORS[rng.usize(..COLORS.len())];
                "stock and option"
            }
            5 if n > 1 => {
                self.variants.swap(0, n - 1);
                "variants reordered"
            }
            _ => {
                let mut categories = CATEGORIES.to_vec();
                rng.shuffle(&mut categories);
                self.categories = categories[..rng.usize(0..4)].to_vec();
                "categories"
            }
        }
    }
}

fn source(sim: &Simulator) -> catalog_sync::source::Source {
    let origin = sim.url().origin().ascii_serialization();
    source_at(sim, &SOURCE.replace("ORIGIN", &origin), &[])
}

fn engine(pool: &PgPool, sim: &Simulator) -> Engine {
    engine_with(pool, upstream_for(sim, source(sim)), settings())
}

async fn synced(engine: &Engine) -> RunSummary {
    let summary = full_sync(engine).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    summary
}

/// The rows of every product table, as text, for comparing with the model and for seeing
/// which rows a run wrote (`xmin` changes with every write of a row).
async fn tables(pool: &PgPool) -> BTreeMap<String, Vec<String>> {
    let queries = [
        (
            "products",
            "select concat_ws('|', external_id, sku, price::text, stock, options::text, \
             (select slug from categories c where c.id = category_id)) from products \
             order by length(external_id), external_id",
        ),
        (
            "variants",
            "select concat_ws('|', p.external_id, v.external_id, v.sku, v.title, v.position, \
             v.options::text, v.stock, (v.archived_at is not null)::text) \
             from product_variants v join products p on p.id = v.product_id \
             order by length(p.external_id), p.external_id, v.archived_at is not null, v.position, \
             v.external_id",
        ),
        (
            "prices",
            "select concat_ws('|', v.external_id, vp.currency, vp.kind, vp.amount::text) \
             from variant_prices vp join product_variants v on v.id = vp.variant_id \
             order by v.id, vp.currency, vp.kind",
        ),
        (
            "categories",
            "select concat_ws('|', p.external_id, c.slug, c.name, pc.position) \
             from product_categories pc join products p on p.id = pc.product_id \
             join categories c on c.id = pc.category_id \
             order by length(p.external_id), p.external_id, pc.position",
        ),
        (
            "xmin",
            "select string_agg(t, ',' order by t) from ( \
               select 'p' || external_id || ':' || xmin::text as t from products \
               union all select 'v' || id || ':' || xmin::text from product_variants \
               union all select 'x' || variant_id || '-' || kind || currency || ':' || xmin::text \
                 from variant_prices \
               union all select 'c' || product_id || '-' || category_id || ':' || xmin::text \
                 from product_categories) rows",
        ),
    ];
    let mut out = BTreeMap::new();
    for (name, query) in queries {
        let rows: Vec<Option<String>> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap();
        out.insert(name.to_owned(), rows.into_iter().flatten().collect());
    }
    out
}

/// What the model says the tables hold (all but `xmin`).
fn expected(models: &BTreeMap<u64, Model>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let push = |out: &mut BTreeMap<String, Vec<String>>, table: &str, row: String| {
        out.entry(table.to_owned()).or_default().push(row);
    };
    let lowest = |vs: &[Sold]| {
        vs.iter()
            .map(|v| &v.price)
            .min_by(|a, b| a.parse::<f64>().unwrap().total_cmp(&b.parse().unwrap()))
            .cloned()
    };
    for (id, m) in models {
        let stocks: Vec<i64> = m.variants.iter().filter_map(|v| v.stock).collect();
        let options: Vec<serde_json::Value> = m
            .options()
            .into_iter()
            .map(|(name, values)| json!({"name": name, "values": values}))
            .collect();
        let options: serde_json::Value = serde_json::from_str(&json!(options).to_string()).unwrap();
        let fields = [
            Some(id.to_string()),
            Some(m.variants[0].sku.clone()),
            lowest(&m.variants),
            (!stocks.is_empty()).then(|| stocks.iter().sum::<i64>().to_string()),
            Some(jsonb_text(&options)),
            m.categories.first().map(|c| c.to_string()),
        ];
        push(&mut out, "products", join(&fields));
        for (position, v) in m.variants.iter().enumerate() {
            let fields = [
                Some(id.to_string()),
                Some(v.id.to_string()),
                Some(v.sku.clone()),
                Some(format!("{} / {}", v.size, v.color)),
                Some(position.to_string()),
                Some(jsonb_text(&json!({"Size": v.size, "Color": v.color}))),
                v.stock.map(|s| s.to_string()),
                Some("false".into()),
            ];
            push(&mut out, "variants", join(&fields));
        }
        for gone in m
            .ever
            .iter()
            .filter(|e| !m.variants.iter().any(|v| v.id == **e))
        {
            out.entry("archived".into())
                .or_default()
                .push(format!("{id}|{gone}"));
        }
        for (position, slug) in m.categories.iter().enumerate() {
            push(
                &mut out,
                "categories",
                format!("{id}|{slug}|{}|{position}", slug.to_uppercase()),
            );
        }
    }
    out
}

/// `value` as PostgreSQL prints a `jsonb`: keys by length, then bytes; `", "` and `": "`.
fn jsonb_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}: {}", json!(k), jsonb_text(&map[k])))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        serde_json::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(jsonb_text).collect();
            format!("[{}]", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn join(fields: &[Option<String>]) -> String {
    fields
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("|")
}

/// Compares the catalog with the model, table by table; live variants' prices are checked
/// against the model's too.
async fn assert_matches(pool: &PgPool, models: &BTreeMap<u64, Model>, round: usize) {
    let got = tables(pool).await;
    let want = expected(models);
    assert_eq!(got["products"], want["products"], "round {round}: products");
    let live: Vec<&String> = got["variants"]
        .iter()
        .filter(|r| r.ends_with("|false"))
        .collect();
    let want_live: Vec<&String> = want["variants"].iter().collect();
    assert_eq!(live, want_live, "round {round}: live variants");
    let mut archived: Vec<String> = got["variants"]
        .iter()
        .filter(|r| r.ends_with("|true"))
        .map(|r| r.split('|').take(2).collect::<Vec<_>>().join("|"))
        .collect();
    archived.sort();
    let mut want_archived = want.get("archived").cloned().unwrap_or_default();
    want_archived.sort();
    assert_eq!(archived, want_archived, "round {round}: archived variants");
    let empty = Vec::new();
    assert_eq!(
        got["categories"],
        *want.get("categories").unwrap_or(&empty),
        "round {round}: categories"
    );
    let mut want_prices: Vec<String> = Vec::new();
    for m in models.values() {
        for v in &m.variants {
            want_prices.push(format!("{}|usd|base|{}", v.id, v.price));
            if let Some(c) = &v.compare_at {
                want_prices.push(format!("{}|usd|compare_at|{c}", v.id));
            }
            if let Some(e) = &v.eur {
                want_prices.push(format!("{}|eur|base|{e}", v.id));
            }
        }
    }
    let live_ids: Vec<String> = models
        .values()
        .flat_map(|m| m.variants.iter().map(|v| v.id.to_string()))
        .collect();
    let mut got_prices: Vec<String> = got["prices"]
        .iter()
        .filter(|r| live_ids.iter().any(|id| r.starts_with(&format!("{id}|"))))
        .cloned()
        .collect();
    got_prices.sort();
    want_prices.sort();
    assert_eq!(
        got_prices, want_prices,
        "round {round}: prices of live variants"
    );
}

#[sqlx::test]
async fn variants_prices_and_categories_follow_the_upstream_and_only_changes_are_written(
    pool: PgPool,
) {
    const PRODUCTS: u64 = 24;
    let sim = simulator(PRODUCTS).await;
    let mut rng = fastrand::Rng::with_seed(20261205);
    let mut next_id = 1000;
    let mut models: BTreeMap<u64, Model> = BTreeMap::new();
    for product in 1..=PRODUCTS {
        let model = Model::new(&mut rng, &mut next_id);
        model.serve(&sim, product);
        models.insert(product, model);
    }
    let engine = engine(&pool, &sim);
    let first = synced(&engine).await;
    let variants: u64 = models.values().map(|m| m.variants.len() as u64).sum();
    assert_eq!(first.counts.created, PRODUCTS);
    assert_eq!(first.counts.variants.created, variants);
    assert_matches(&pool, &models, 0).await;

    // Unchanged: not one row of any product table is written.
    let before = tables(&pool).await;
    let again = synced(&engine).await;
    assert_eq!(again.counts.unchanged, PRODUCTS);
    assert_eq!(again.counts.variants, Default::default());
    assert_eq!(
        tables(&pool).await["xmin"],
        before["xmin"],
        "no row written"
    );

    // One variant's price: that product's row, that variant's row and its prices, nothing else.
    let product = 5;
    models.get_mut(&product).unwrap().variants[0].price = "0.99".into();
    models[&product].serve(&sim, product);
    let before: Vec<String> = tables(&pool).await["xmin"][0]
        .split(',')
        .map(String::from)
        .collect();
    let one = synced(&engine).await;
    assert_eq!((one.counts.updated, one.counts.variants.updated), (1, 1));
    assert_eq!(
        one.counts.variants.created + one.counts.variants.archived,
        0
    );
    let after: Vec<String> = tables(&pool).await["xmin"][0]
        .split(',')
        .map(String::from)
        .collect();
    let rewritten: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
    let variant_id: i64 = sqlx::query_scalar(
        "select v.id from product_variants v join products p on p.id = v.product_id \
         where p.external_id = $1 and v.position = 0",
    )
    .bind(product.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    for row in &rewritten {
        let ok = row.starts_with(&format!("p{product}:"))
            || row.starts_with(&format!("v{variant_id}:"))
            || row.starts_with(&format!("x{variant_id}-"));
        assert!(
            ok,
            "{row} was rewritten; only product {product}'s changed variant should be"
        );
    }
    assert_matches(&pool, &models, 1).await;

    // Random changes at variant and category level, a few products a round.
    for round in 2..32 {
        let mut changed = 0;
        for _ in 0..rng.usize(1..5) {
            let product = rng.u64(1..=PRODUCTS);
            let what = models
                .get_mut(&product)
                .unwrap()
                .change(&mut rng, &mut next_id);
            models[&product].serve(&sim, product);
            tracing::debug!(round, product, what, "changed");
            changed += 1;
        }
        let summary = synced(&engine).await;
        assert!(summary.counts.updated <= changed, "{summary:?}");
        assert_matches(&pool, &models, round).await;
    }
}

#[sqlx::test]
async fn a_removed_variant_is_archived_and_comes_back_with_its_row(pool: PgPool) {
    let sim = simulator(10).await;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut next_id = 100;
    let mut model = Model::new(&mut rng, &mut next_id);
    while model.variants.len() < 3 {
        model.add(&mut rng, &mut next_id);
    }
    model.serve(&sim, 2);
    let engine = engine(&pool, &sim);
    synced(&engine).await;
    let id_of = |external_id: u64| {
        sqlx::query_scalar::<_, i64>("select id from product_variants where external_id = $1")
            .bind(external_id.to_string())
            .fetch_one(&pool)
    };
    let gone = model.variants.remove(1);
    let row = id_of(gone.id).await.unwrap();
    model.serve(&sim, 2);
    let summary = synced(&engine).await;
    assert_eq!(summary.counts.variants.archived, 1);
    let archived: bool =
        sqlx::query_scalar("select archived_at is not null from product_variants where id = $1")
            .bind(row)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(archived);
    let live: i64 = sqlx::query_scalar(
        "select count(*) from product_variants v join products p on p.id = v.product_id \
         where p.external_id = '2' and v.archived_at is null",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, model.variants.len() as i64);

    // Back at the end, where no other variant's position moves.
    model.variants.push(gone.clone());
    model.serve(&sim, 2);
    let summary = synced(&engine).await;
    assert_eq!(summary.counts.variants.updated, 1, "restored");
    assert_eq!(
        id_of(gone.id).await.unwrap(),
        row,
        "the same row comes back"
    );

    // Archiving the product archives none of its variants.
    sim.delete(2);
    let summary = synced(&engine).await;
    assert_eq!(summary.counts.archived, 1);
    assert_eq!(summary.counts.variants.archived, 0);
}
