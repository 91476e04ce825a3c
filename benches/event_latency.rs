//! Event latency benchmark (not a test; `scripts/bench-latency` runs it against a worker it
//! starts): publishes `product.updated` events carrying whole products at each given rate and
//! measures, per event, the time from its publish to the commit of the batch that applied it.
//!
//! The commit is seen from outside: each event's product row records when its write began
//! (`last_synced_at`), and the worker publishes its batch's summary right after the commit, so
//! an event's commit time is the first summary to arrive after its row was written (an upper
//! bound: it includes publishing the summary).
//!
//! Usage: `event_latency RATE...` with `NATS_URL` and `DATABASE_URL` set (events per second,
//! each rate for `LATENCY_SECONDS`, default 5).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use catalog_sync::messages::message_id_headers;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` adds `--bench`: flags are not rates.
    let rates: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let seconds: u64 = std::env::var("LATENCY_SECONDS").map_or(Ok(5), |s| s.parse())?;
    let nats = async_nats::connect(std::env::var("NATS_URL")?).await?;
    let pool = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
    let js = async_nats::jetstream::new(nats.clone());

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

    println!("| events/s | events | batches | p50 | p99 | max |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for rate in rates {
        let events = (rate * seconds).max(20);
        let prefix = format!("lat-{rate}-{}", std::process::id());
        let before = arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let start = Instant::now();
        let mut published = Vec::with_capacity(events as usize);
        for i in 0..events {
            // Paced against the start, so a slow publish does not slow the rate down.
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let id = format!("{prefix}-{i}");
            let at = Utc::now();
            let body = event(&id, at);
            js.publish_with_headers("product.updated", message_id_headers(&id), body.into())
                .await?;
            published.push(at);
        }
        let pattern = format!("{prefix}-%");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let stored: i64 =
                sqlx::query_scalar("select count(*) from products where external_id like $1")
                    .bind(&pattern)
                    .fetch_one(&pool)
                    .await?;
            if stored as u64 >= events || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "select external_id, last_synced_at from products where external_id like $1",
        )
        .bind(&pattern)
        .fetch_all(&pool)
        .await?;
        let arrivals = arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut latencies: Vec<f64> = rows
            .iter()
            .filter_map(|(id, written)| {
                let i: usize = id.rsplit('-').next()?.parse().ok()?;
                let committed = arrivals.iter().find(|a| *a >= written)?;
                Some((*committed - published[i]).num_microseconds()? as f64 / 1000.0)
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {rate} | {} of {events} | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
            latencies.len(),
            arrivals.len() - before,
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    Ok(())
}

/// A `product.updated` event carrying the whole product `id`, versioned `at`.
fn event(id: &str, at: DateTime<Utc>) -> Vec<u8> {
    let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    serde_json::to_vec(&serde_json::json!({
        "product_id": id,
        "updated_at": at,
        "product": {
            "id": id, "title": format!("Lamp {id}"), "description": "A lamp for the desk",
            "category": "home-decoration", "price": 24.99, "discountPercentage": 5, "rating": 4.5,
            "stock": 12, "tags": ["lamp"], "sku": format!("LAT-{id}"), "weight": 2,
            "dimensions": {"width": 10, "height": 40, "depth": 10},
            "warrantyInformation": "1 year", "shippingInformation": "Ships in 2 days",
            "availabilityStatus": "In Stock", "returnPolicy": "30 days", "minimumOrderQuantity": 1,
            "meta": {"createdAt": at, "updatedAt": at, "barcode": "4006381333931"},
            "images": ["https://cdn.example/lamp.webp"], "thumbnail": "https://cdn.example/t.webp"
        }
    }))
    .expect("an event encodes")
}
