//! Webhook ingress benchmark (not a test; `scripts/bench-ingress` runs it against a
//! `catalog-sync ingress` and a worker it starts): sends signed Shopify `products/update`
//! webhooks, each a new product with one variant, at each given rate, and reports
//!
//! - the answer time of each webhook (sent → 200, JetStream's acknowledgement included) as p50,
//!   p99 and max, and how many were answered otherwise;
//! - the time from sending a webhook to the commit of the worker batch that wrote its product,
//!   seen from outside as in `event_latency`: the product row records when its write began
//!   (`last_synced_at`), and the first batch summary published after that follows the commit.
//!
//! Webhooks are sent open-loop: each leaves at its time whatever the answers before it, so a
//! slow answer shows as latency, not as a lower rate.
//!
//! Usage: `webhook_ingress RATE...` with `INGRESS_URL`, `SHOPIFY_WEBHOOK_SECRET`, `NATS_URL` and
//! `DATABASE_URL` set (webhooks per second, each rate for `WEBHOOK_SECONDS`, default 5).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use catalog_sync::ingress::sign_base64;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `cargo bench` adds `--bench`: flags are not rates.
    let rates: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let seconds: u64 = std::env::var("WEBHOOK_SECONDS").map_or(Ok(5), |s| s.parse())?;
    let url = format!("{}/webhooks/shopify", std::env::var("INGRESS_URL")?);
    let secret = std::env::var("SHOPIFY_WEBHOOK_SECRET")?;
    let nats = async_nats::connect(std::env::var("NATS_URL")?).await?;
    let pool = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;

    // Arrival times of the batch summaries, which follow each commit.
    let arrivals: Arc<Mutex<Vec<DateTime<Utc>>>> = Arc::default();
    let mut summaries = nats.subscribe("catalog.sync.completed").await?;
    let collected = Arc::clone(&arrivals);
    tokio::spawn(async move {
        while summaries.next().await.is_some() {
            collected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Utc::now());
        }
    });

    println!(
        "| webhooks/s | sent | answered 200 | taken/s | answer p50 | answer p99 | answer max | sent → commit p50 | sent → commit p99 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (n, rate) in rates.into_iter().enumerate() {
        let count = (rate * seconds).max(20);
        let base = (n as u64 + 1) * 100_000_000 + u64::from(std::process::id() % 1000) * 100_000;
        let start = Instant::now();
        let mut sends = Vec::with_capacity(count as usize);
        for i in 0..count {
            // Paced against the start, so a slow answer does not slow the rate down.
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let id = base + i;
            let sent_at = Utc::now();
            let body = product(id, sent_at);
            let signature = sign_base64(secret.as_bytes(), &body);
            let request = http
                .post(&url)
                .header("X-Shopify-Topic", "products/update")
                .header("X-Shopify-Event-Id", format!("bench-{id}"))
                .header("X-Shopify-Hmac-Sha256", signature)
                .header("Content-Type", "application/json")
                .body(body);
            sends.push(tokio::spawn(async move {
                let sent = Instant::now();
                let ok = request.send().await.is_ok_and(|r| r.status() == 200);
                (id, sent_at, ok, sent.elapsed())
            }));
        }
        let mut answers = Vec::with_capacity(sends.len());
        for send in sends {
            answers.push(send.await?);
        }
        // Sent and answered: the rate the ingress actually took.
        let taken = count as f64 / start.elapsed().as_secs_f64();
        let answered = answers.iter().filter(|a| a.2).count();
        let mut answer_ms: Vec<f64> = answers.iter().map(|a| a.3.as_secs_f64() * 1000.0).collect();
        answer_ms.sort_by(f64::total_cmp);

        // Every answered webhook's product in the catalog, then the commit that wrote it.
        let range = (base.to_string(), (base + count).to_string());
        let deadline = Instant::now() + Duration::from_secs(120);
        let stored_rows = || async {
            sqlx::query_as::<_, (String, DateTime<Utc>)>(
                "select external_id, last_synced_at from products \
                 where length(external_id) = length($1) and external_id >= $1 and external_id < $2",
            )
            .bind(&range.0)
            .bind(&range.1)
            .fetch_all(&pool)
            .await
        };
        let mut rows = stored_rows().await?;
        while rows.len() < answered && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            rows = stored_rows().await?;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let arrivals = arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut commit_ms: Vec<f64> = rows
            .iter()
            .filter_map(|(id, written)| {
                let i = (id.parse::<u64>().ok()? - base) as usize;
                let committed = arrivals.iter().find(|a| *a >= written)?;
                Some((*committed - answers[i].1).num_microseconds()? as f64 / 1000.0)
            })
            .collect();
        commit_ms.sort_by(f64::total_cmp);
        let at = |v: &[f64], q: f64| {
            v.get(((v.len().max(1) - 1) as f64 * q).round() as usize)
                .map_or("—".to_owned(), |ms| format!("{ms:.1} ms"))
        };
        println!(
            "| {rate} | {count} | {answered} | {taken:.0} | {} | {} | {} | {} | {} |",
            at(&answer_ms, 0.5),
            at(&answer_ms, 0.99),
            at(&answer_ms, 1.0),
            at(&commit_ms, 0.5),
            at(&commit_ms, 0.99),
        );
    }
    Ok(())
}

/// A Shopify `products/update` body: product `id` with one variant, updated `at`.
fn product(id: u64, at: DateTime<Utc>) -> Vec<u8> {
    let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    serde_json::to_vec(&serde_json::json!({
        "id": id, "title": format!("Lamp {id}"), "body_html": "<p>A lamp for the desk</p>",
        "vendor": "Lumen", "product_type": "Lighting", "handle": format!("lamp-{id}"),
        "created_at": at, "updated_at": at, "published_at": at, "status": "active",
        "tags": "desk, lamp", "admin_graphql_api_id": format!("gid://shopify/Product/{id}"),
        "options": [{"id": 1, "product_id": id, "name": "Title", "position": 1, "values": ["Default Title"]}],
        "variants": [{
            "id": id * 10, "product_id": id, "title": "Default Title", "price": "24.99",
            "compare_at_price": null, "sku": format!("LAMP-{id}"), "barcode": "4006381333931",
            "position": 1, "inventory_quantity": 12, "option1": "Default Title",
            "option2": null, "option3": null, "created_at": at, "updated_at": at,
            "taxable": true, "grams": 2000, "weight": 2.0, "weight_unit": "kg"
        }],
        "images": [{"id": 1, "src": "https://cdn.example/lamp.webp"}],
        "image": {"id": 1, "src": "https://cdn.example/lamp.webp"}
    }))
    .expect("a product encodes")
}
