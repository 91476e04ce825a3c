//! One schedule: its own nats-server, database, simulated upstream, worker and ingress
//! processes, a random sequence of operations drawn from a seed, then drain, one full sync, and
//! the comparison.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use catalog_sync::messages::message_id_headers;
use catalog_sync_simulator::{CatalogChange, Fault, Simulator, SimulatorConfig};
use fastrand::Rng;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::Child;

use crate::support::process::Env;
use crate::support::{NatsServer, eventually, simulator_with};

/// Operations run, by kind.
#[derive(Clone, Debug, Default)]
pub struct Tally(BTreeMap<&'static str, u64>);

impl Tally {
    fn count(&mut self, kind: &'static str) {
        *self.0.entry(kind).or_default() += 1;
    }

    pub fn add(&mut self, other: &Tally) {
        for (kind, n) in &other.0 {
            *self.0.entry(kind).or_default() += n;
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: u64 = self.0.values().sum();
        write!(f, "{total} operations (")?;
        for (i, (kind, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{kind} {n}")?;
        }
        f.write_str(")")
    }
}

pub struct Report {
    pub tally: Tally,
    pub elapsed: Duration,
    pub failure: Option<String>,
    pub log: Vec<String>,
}

/// A database of the schedule's own, dropped at the end.
struct Database {
    admin: PgPool,
    name: String,
    pool: PgPool,
    url: String,
}

impl Database {
    async fn create(seed: u64) -> Database {
        let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
        let admin = PgPool::connect(&base).await.expect("admin connection");
        let name = format!("converge_{seed}_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database if exists {name} with (force)"
        )))
        .execute(&admin)
        .await
        .expect("drop an old database");
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&admin)
            .await
            .expect("create the schedule's database");
        let mut url = reqwest::Url::parse(&base).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let pool = PgPool::connect(url.as_str()).await.expect("connect");
        Database {
            admin,
            name,
            pool,
            url: url.to_string(),
        }
    }

    /// Makes the database read-only (`on`) or writable again, as a failover to a replica and
    /// back looks: new sessions follow at once; the sessions of the pools stay as they were.
    async fn set_read_only(&self, on: bool) {
        let statement = if on {
            format!(
                "alter database {} set default_transaction_read_only = on",
                self.name
            )
        } else {
            format!(
                "alter database {} reset default_transaction_read_only",
                self.name
            )
        };
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&self.admin)
            .await
            .expect("alter database");
    }

    /// Kills every connection to the schedule's database (the worker's and ours).
    async fn terminate_connections(&self) -> u64 {
        sqlx::query_scalar::<_, i64>(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity
             where datname = $1 and pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_one(&self.admin)
        .await
        .unwrap_or(0) as u64
    }

    async fn drop(self) {
        self.pool.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database if exists {} with (force)",
            self.name
        )))
        .execute(&self.admin)
        .await;
    }
}

/// What the model remembers of the upstream: past states (for stale events) and the last
/// version of deleted products (for versioned deletion events).
#[derive(Default)]
struct Model {
    history: HashMap<u64, Vec<Value>>,
    deleted_at: HashMap<u64, String>,
}

impl Model {
    fn remember(&mut self, sim: &Simulator, id: u64) {
        if let Some(product) = sim.product(id) {
            self.history.entry(id).or_default().push(product);
        }
    }
}

fn version(product: &Value) -> Option<String> {
    product["meta"]["updatedAt"].as_str().map(str::to_owned)
}

/// One millisecond after an RFC 3339 time: the version of a deletion that followed it.
fn just_after(at: &str) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(at).expect("an RFC 3339 version");
    (t + chrono::Duration::milliseconds(1))
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

struct Run {
    rng: Rng,
    seed: u64,
    sim: Simulator,
    db: Database,
    nats: NatsServer,
    env: Env,
    js: jetstream::Context,
    worker: Option<Child>,
    worker_log: PathBuf,
    /// A `catalog-sync ingress` taking Standard Webhooks (signed with [`WEBHOOK_KEY`]): some
    /// events arrive through it instead of being published directly.
    _ingress: Child,
    ingress_url: String,
    model: Model,
    delayed: Vec<Vec<u8>>,
    /// Handles after the first sync: no later run may change one.
    handles: BTreeMap<String, String>,
    /// The newest stored version seen per product: it may only move forward.
    versions: BTreeMap<String, String>,
    /// While the database is read-only: the step after which it takes writes again.
    read_only_until: Option<usize>,
    tally: Tally,
    log: Vec<String>,
    step: usize,
    /// Odd seeds: products sold in variants, read through a source file that maps them, and
    /// upstream changes at variant level too.
    variants: bool,
    _dir: tempfile::TempDir,
}

/// The key the schedule's webhooks are signed with (`STANDARD_WEBHOOK_SECRET` in base64).
const WEBHOOK_KEY: &[u8] = b"the convergence checker's webhook key";

/// Starts `catalog-sync ingress` on a free port of loopback, logging to `log`; its process and
/// base URL once it listens.
async fn start_ingress(env: &Env, log: &std::path::Path) -> (Child, String) {
    use base64::Engine as _;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(WEBHOOK_KEY)
    );
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("worker log");
    let child = env
        .with(&[
            ("INGRESS_LISTEN", &listen),
            ("STANDARD_WEBHOOK_SECRET", &secret),
        ])
        .command(&["ingress"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("catalog-sync ingress starts");
    let listening = eventually(20, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    assert!(listening, "catalog-sync ingress listens on {listen}");
    (child, format!("http://{listen}"))
}

/// The source file of variant schedules: DummyJSON records with their options and variants.
fn variant_source(origin: &str) -> String {
    format!(
        r#"[list]
url = "{origin}/products"
records = "/products"
[list.paging]
style = "offset"
limit_param = "limit"
offset_param = "skip"
total = "/total"
[item]
url = "{origin}/products/{{id}}"
[fields]
external_id = "/id"
title = "/title"
description = "/description"
category = "/category"
brand = "/brand"
images = "/images/*"
thumbnail = "/thumbnail"
tags = "/tags/*"
updated_at = "/meta/updatedAt"
attributes = ["discountPercentage", "rating", "weight", "dimensions", "warrantyInformation", "shippingInformation", "availabilityStatus", "returnPolicy", "minimumOrderQuantity", "meta"]
[options]
records = "/options"
[variants]
records = "/variants"
title = "/title"
sku = "/sku"
barcode = "/barcode"
stock = "/stock"
options = ["/option1", "/option2"]
[[variants.prices]]
amount = "/price"
[[variants.prices]]
amount = "/compare_at_price"
kind = "compare_at"
[events]
may_omit = ["brand"]
"#
    )
}

pub async fn run(seed: u64, operations: usize) -> Report {
    let started = Instant::now();
    let mut run = Run::start(seed).await;
    let mut failure = None;
    for step in 0..operations {
        run.step = step;
        run.operation().await;
        // These hold at every moment, not only once the bus is quiet: ids never come back
        // upstream, events carry true versions, and handles never change.
        if let Some(broken) =
            super::compare::invariants(&run.db.pool, &run.sim, &run.handles, &mut run.versions)
                .await
        {
            failure = Some(format!("after operation {step}: {broken}"));
            break;
        }
    }
    if failure.is_none() {
        failure = run.settle().await;
    }
    let Run {
        tally,
        log,
        db,
        mut worker,
        ..
    } = run;
    if let Some(child) = worker.as_mut() {
        let _ = child.kill().await;
    }
    db.drop().await;
    Report {
        tally,
        elapsed: started.elapsed(),
        failure,
        log: log.into_iter().rev().take(40).rev().collect(),
    }
}

impl Run {
    async fn start(seed: u64) -> Run {
        let mut rng = Rng::with_seed(seed);
        let variants = seed % 2 == 1;
        let sim = simulator_with(SimulatorConfig {
            products: rng.u64(120..=260),
            seed,
            latency: Duration::from_millis(rng.u64(1..=6)),
            variants: if variants { 3 } else { 0 },
            ..SimulatorConfig::default()
        })
        .await;
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::create(seed).await;
        let nats = NatsServer::spawn().await;
        let env = Env {
            vars: vec![
                ("DATABASE_URL", db.url.clone()),
                ("SYNC_API_URL", sim.url().to_string()),
                ("NATS_URL", nats.url()),
                ("SYNC_PAGE_SIZE", rng.u64(7..=25).to_string()),
                ("SYNC_BATCH_SIZE", rng.u64(10..=60).to_string()),
                ("SYNC_CONCURRENCY", rng.u64(1..=4).to_string()),
                ("SYNC_WRITE_CONCURRENCY", rng.u64(1..=3).to_string()),
                ("CONSUMER_ACK_WAIT", "3s".into()),
                ("SYNC_MAX_RETRIES", "2".into()),
                ("SYNC_RETRY_MIN_DELAY", "20ms".into()),
                ("SYNC_RETRY_MAX_DELAY", "1s".into()),
                ("SYNC_REQUEST_TIMEOUT", "1s".into()),
                ("SYNC_ARCHIVE_MAX_RATIO", "1".into()),
                ("SYNC_RUN_STALE_AFTER", "10s".into()),
                ("SHUTDOWN_TIMEOUT", "5s".into()),
                ("RUST_LOG", "warn".into()),
                ("METRICS_LISTEN", "127.0.0.1:0".into()),
            ],
        };
        let mut env = env;
        if variants {
            let file = dir.path().join("variants.toml");
            let origin = sim.url().origin().ascii_serialization();
            std::fs::write(&file, variant_source(&origin)).expect("source file");
            env.vars
                .push(("SYNC_SOURCE", file.to_string_lossy().into_owned()));
        }
        env.run_ok(&["migrate"]).await;
        env.run_ok(&["setup"]).await;
        let worker_log = dir.path().join("worker.log");
        let (_ingress, ingress_url) = start_ingress(&env, &worker_log).await;
        let js = jetstream::new(nats.client().await);
        let mut run = Run {
            rng,
            seed,
            sim,
            db,
            nats,
            env,
            js,
            worker: None,
            worker_log,
            _ingress,
            ingress_url,
            model: Model::default(),
            delayed: Vec::new(),
            handles: BTreeMap::new(),
            versions: BTreeMap::new(),
            read_only_until: None,
            tally: Tally::default(),
            log: Vec::new(),
            step: 0,
            variants,
            _dir: dir,
        };
        run.start_worker();
        // The catalog starts synced, as in production.
        run.request_full("initial").await;
        let id = format!("full-{seed}-0-initial");
        assert!(
            run.finished(&id, 120).await,
            "the initial full sync of seed {seed} finished"
        );
        run.handles = super::compare::handles(&run.db.pool).await;
        run
    }

    /// Waits up to `seconds` for the run of `request_id` to end.
    async fn finished(&self, request_id: &str, seconds: u64) -> bool {
        let pool = self.db.pool.clone();
        eventually(seconds, || async {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from sync_runs where request_id = $1
                 and status in ('succeeded', 'partial', 'failed', 'skipped')",
            )
            .bind(request_id)
            .fetch_one(&pool)
            .await
            .unwrap_or(0)
                == 1
        })
        .await
    }

    fn note(&mut self, kind: &'static str, what: String) {
        self.tally.count(kind);
        self.log.push(format!("  [{}] {what}", self.step));
    }

    fn start_worker(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.worker_log)
            .expect("worker log");
        let child = self
            .env
            .command(&["worker"])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("worker starts");
        self.worker = Some(child);
    }

    /// Delivers `event` as a signed Standard Webhooks `product.updated`, sending it again (with
    /// the same delivery id, as a sender does) until it is answered 200.
    async fn deliver_webhook(&self, event: &Value) -> bool {
        let id = format!("msg_{}_{}", self.seed, self.step);
        let body =
            json!({"type": "product.updated", "timestamp": chrono::Utc::now(), "data": event})
                .to_string();
        let http = reqwest::Client::new();
        for _ in 0..40 {
            let sent = chrono::Utc::now().timestamp();
            let signed = format!("{id}.{sent}.{body}");
            let signature = catalog_sync::ingress::sign_base64(WEBHOOK_KEY, signed.as_bytes());
            let answer = http
                .post(format!("{}/webhooks/standard", self.ingress_url))
                .header("webhook-id", &id)
                .header("webhook-timestamp", sent.to_string())
                .header("webhook-signature", format!("v1,{signature}"))
                .body(body.clone())
                .timeout(Duration::from_secs(6))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status() == 200) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }

    /// A random live product, if any.
    fn live_id(&mut self) -> Option<u64> {
        let last = self.sim.last_id();
        self.live_id_up_to(last)
    }

    /// A random live product among the first `last` ids, if any.
    fn live_id_up_to(&mut self, last: u64) -> Option<u64> {
        let last = last.min(self.sim.last_id()).max(1);
        (0..20)
            .map(|_| self.rng.u64(1..=last))
            .find(|id| self.sim.is_live(*id))
    }

    /// Publishes, retrying while NATS is down (a publisher that gives up loses the message,
    /// which the final full sync must make up for).
    async fn publish(&self, subject: &str, msg_id: Option<String>, body: Vec<u8>) -> bool {
        for _ in 0..40 {
            let headers = msg_id
                .as_deref()
                .map(message_id_headers)
                .unwrap_or_default();
            let sent = self
                .js
                .publish_with_headers(subject.to_owned(), headers, body.clone().into())
                .await;
            if let Ok(ack) = sent
                && tokio::time::timeout(Duration::from_secs(2), ack)
                    .await
                    .is_ok_and(|a| a.is_ok())
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }

    async fn request_full(&mut self, name: &str) {
        let id = format!("full-{}-{}-{name}", self.seed, self.step);
        let body = json!({ "request_id": id }).to_string().into_bytes();
        self.publish("catalog.sync.requested", Some(id), body).await;
    }

    async fn operation(&mut self) {
        if self.read_only_until.is_some_and(|until| self.step > until) {
            self.read_only_until = None;
            self.db.set_read_only(false).await;
            self.note(
                "database writable again",
                "the database takes writes again (pooled sessions left read-only)".into(),
            );
        }
        match self.rng.u32(0..104) {
            100..=101 if self.read_only_until.is_none() => self.read_only_window().await,
            100..=103 => self.future_dated_event().await,
            0..=17 => self.upstream_change().await,
            18..=49 => self.product_event().await,
            50..=53 => {
                self.note("full sync", "full sync requested".into());
                self.request_full("op").await;
            }
            54..=61 => self.full_sync_with_change_during_it().await,
            62..=66 => self.targeted_sync().await,
            67..=70 => self.kill_worker().await,
            71..=73 => self.restart_nats().await,
            74..=76 => {
                let killed = self.db.terminate_connections().await;
                self.note(
                    "postgres connections killed",
                    format!("{killed} PostgreSQL connections killed"),
                );
            }
            77..=84 => self.upstream_fault(),
            85..=89 => self.release_delayed().await,
            _ => {
                let ms = self.rng.u64(50..=600);
                self.note("pause", format!("pause {ms} ms"));
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
    }

    async fn upstream_change(&mut self) {
        let Some(id) = self.live_id() else { return };
        self.model.remember(&self.sim, id);
        // Variant schedules change variants about as often as products.
        let kinds = if self.variants { 16 } else { 10 };
        match self.rng.u32(0..kinds) {
            10 | 13 => {
                let listed = self.sim.variants(id);
                let v = &listed[self.rng.usize(..listed.len())];
                let price = format!("{}.{:02}", self.rng.u32(1..500), self.rng.u32(0..100));
                self.sim.set_variant_price(id, v.id, &price);
                self.note(
                    "variant price",
                    format!("product {id} variant {} costs {price}", v.id),
                );
            }
            11 | 14 => {
                let listed = self.sim.variants(id);
                if listed.len() > 1 {
                    let v = &listed[self.rng.usize(..listed.len())];
                    self.sim.remove_variant(id, v.id);
                    self.note("variant removed", format!("product {id} variant {}", v.id));
                }
            }
            12 | 15 => {
                let added = self.sim.add_variant(id);
                self.note("variant added", format!("product {id} variant {added:?}"));
            }
            0..=4 => {
                self.sim.mutate(id);
                self.note(
                    "upstream change",
                    format!("product {id} changes price and stock"),
                );
            }
            5..=6 => {
                let title = format!("Renamed {} {}", id, self.rng.u32(..));
                self.sim.set_title(id, &title);
                self.note("upstream rename", format!("product {id} renamed {title:?}"));
            }
            7..=8 => {
                if let Some(at) = self.sim.product(id).as_ref().and_then(version) {
                    self.model.deleted_at.insert(id, just_after(&at));
                }
                self.sim.delete(id);
                self.note("upstream deletion", format!("product {id} deleted"));
            }
            _ => {
                let n = self.rng.u64(1..=3);
                self.sim.add_products(n);
                self.note("upstream addition", format!("{n} products added"));
            }
        }
    }

    async fn full_sync_with_change_during_it(&mut self) {
        let after = self.rng.u64(2..=6);
        let change = match self.rng.u32(0..3) {
            0 => {
                // Products early in the listing, which pages already read are past: the pages
                // after them shift, the hardest case for a listing read page by page.
                let ids: Vec<u64> = (0..self.rng.usize(1..=3))
                    .filter_map(|_| self.live_id_up_to(40))
                    .collect();
                for id in &ids {
                    self.model.remember(&self.sim, *id);
                    if let Some(at) = self.sim.product(*id).as_ref().and_then(version) {
                        self.model.deleted_at.insert(*id, just_after(&at));
                    }
                }
                CatalogChange::Delete(ids)
            }
            1 => CatalogChange::Add(self.rng.u64(1..=3)),
            _ => {
                let ids: Vec<u64> = (0..self.rng.usize(1..=4))
                    .filter_map(|_| self.live_id())
                    .collect();
                for id in &ids {
                    self.model.remember(&self.sim, *id);
                }
                CatalogChange::Mutate(ids)
            }
        };
        self.note(
            "full sync with a change during it",
            format!("full sync requested; {change:?} at listing request {after}"),
        );
        self.sim.on_list_request(after, change);
        self.request_full("moving").await;
    }

    async fn targeted_sync(&mut self) {
        let last = self.sim.last_id();
        let ids: Vec<String> = (0..self.rng.usize(1..=6))
            .map(|_| self.rng.u64(1..=last).to_string())
            .collect();
        let id = format!("products-{}-{}", self.seed, self.step);
        self.note("targeted sync", format!("targeted sync of {ids:?}"));
        let body = json!({"request_id": id, "mode": "products", "product_ids": ids});
        self.publish(
            "catalog.sync.requested",
            Some(id),
            body.to_string().into_bytes(),
        )
        .await;
    }

    async fn product_event(&mut self) {
        let last = self.sim.last_id();
        let id = self.rng.u64(1..=last);
        let current = self.sim.product(id);
        let (kind, body) = match (self.rng.u32(0..8), &current) {
            (0, _) => ("event without a product", json!({ "product_id": id })),
            (1..=2, Some(p)) => (
                "event with a product and its version",
                json!({ "product_id": id, "updated_at": version(p), "product": p }),
            ),
            (3, Some(p)) => (
                "event with a product, versioned by the product",
                json!({ "product_id": id, "product": p }),
            ),
            (4, Some(p)) => {
                let mut p = p.clone();
                p["meta"].as_object_mut().map(|m| m.remove("updatedAt"));
                (
                    "event with a product and no version",
                    json!({ "product_id": id, "product": p }),
                )
            }
            (5, _) => match self.model.history.get(&id).and_then(|h| h.first()) {
                Some(old) => (
                    "stale event",
                    json!({ "product_id": id, "updated_at": version(old), "product": old }),
                ),
                None => ("event without a product", json!({ "product_id": id })),
            },
            (6, None) => match self.model.deleted_at.get(&id) {
                Some(at) => (
                    "deletion with a version",
                    json!({ "product_id": id, "deleted": true, "updated_at": at }),
                ),
                None => (
                    "deletion without a version",
                    json!({ "product_id": id, "deleted": true }),
                ),
            },
            (6..=7, _) => (
                "deletion without a version",
                json!({ "product_id": id, "deleted": true }),
            ),
            _ => ("event without a product", json!({ "product_id": id })),
        };
        let bytes = body.to_string().into_bytes();
        match self.rng.u32(0..13) {
            0..=1 => {
                self.note("delayed event", format!("{kind} for {id}, held back"));
                self.delayed.push(bytes);
            }
            2 => {
                self.note("duplicated event", format!("{kind} for {id}, twice"));
                self.publish("product.updated", None, bytes.clone()).await;
                self.publish("product.updated", None, bytes).await;
            }
            10..=12 => {
                self.note("webhook", format!("{kind} for {id}, as a signed webhook"));
                self.deliver_webhook(&body).await;
            }
            _ => {
                self.note("event", format!("{kind} for {id}"));
                self.publish("product.updated", None, bytes).await;
            }
        }
    }

    /// Publishes the held-back events, newest first (out of order).
    async fn release_delayed(&mut self) {
        let delayed = std::mem::take(&mut self.delayed);
        self.note(
            "delayed events released",
            format!("{} delayed events released, reversed", delayed.len()),
        );
        for bytes in delayed.into_iter().rev() {
            self.publish("product.updated", None, bytes).await;
        }
    }

    async fn kill_worker(&mut self) {
        if let Some(mut child) = self.worker.take() {
            let _ = child.kill().await;
        }
        let down = self.rng.u64(0..=800);
        self.note(
            "worker SIGKILL",
            format!("worker killed, restarted after {down} ms"),
        );
        tokio::time::sleep(Duration::from_millis(down)).await;
        self.start_worker();
    }

    async fn restart_nats(&mut self) {
        let down = self.rng.u64(100..=1500);
        self.note(
            "nats-server restart",
            format!("nats-server down for {down} ms"),
        );
        self.nats.restart(Duration::from_millis(down)).await;
    }

    /// The database turns read-only for the next few operations, every session with it (a
    /// failover to a replica): the worker must wait it out and lose nothing.
    async fn read_only_window(&mut self) {
        let steps = self.rng.usize(1..=6);
        self.db.set_read_only(true).await;
        let killed = self.db.terminate_connections().await;
        self.read_only_until = Some(self.step + steps);
        self.note(
            "database read-only",
            format!(
                "the database is read-only for {steps} operations ({killed} sessions replaced)"
            ),
        );
    }

    /// An event from a publisher whose clock runs years ahead: refused, it changes nothing.
    async fn future_dated_event(&mut self) {
        let Some(id) = self.live_id() else { return };
        let body = match (self.rng.bool(), self.sim.product(id)) {
            (true, Some(mut product)) => {
                product["title"] = json!("From the future");
                product["meta"]["updatedAt"] = json!("2030-01-01T00:00:00.000Z");
                json!({ "product_id": id, "product": product })
            }
            _ => json!({ "product_id": id, "deleted": true, "updated_at": "2099-01-01T00:00:00Z" }),
        };
        self.note(
            "future-dated event",
            format!("event for {id} dated years ahead"),
        );
        self.publish("product.updated", None, body.to_string().into_bytes())
            .await;
    }

    fn upstream_fault(&mut self) {
        let n = self.rng.usize(1..=4);
        let fault = match self.rng.u32(0..5) {
            0 => Fault::Status(500),
            1 => Fault::Status(503),
            2 => Fault::TooManyRequests {
                retry_after: Duration::from_millis(self.rng.u64(100..=1000)),
            },
            3 => Fault::Hang(Duration::from_millis(1500)),
            _ => Fault::Truncate,
        };
        self.note(
            "upstream fault",
            format!("next {n} upstream requests: {fault:?}"),
        );
        self.sim.fail_next(n, fault);
    }

    /// Quiet bus, one full sync, comparison. `Some` describes what went wrong.
    async fn settle(&mut self) -> Option<String> {
        self.sim.clear_faults();
        if self.read_only_until.take().is_some() {
            self.db.set_read_only(false).await;
            self.note(
                "database writable again",
                "the database takes writes again before the drain".into(),
            );
        }
        self.release_delayed().await;
        if self
            .worker
            .as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some())
        {
            self.start_worker();
        }
        // A change queued for a listing request that never came (its full sync ended early or
        // was skipped) happens now: the upstream is quiet from here on.
        let queued = self.sim.apply_queued_changes();
        if queued > 0 {
            self.note(
                "queued change applied",
                format!("{queued} queued listing changes applied before the drain"),
            );
        }
        if !self.drained().await {
            return Some(self.with_worker_log("the bus did not drain within 180 s".into()));
        }
        // Before anything heals it: nothing wrongly archived, no version from the future, no
        // handle changed.
        if let Some(broken) =
            super::compare::invariants(&self.db.pool, &self.sim, &self.handles, &mut self.versions)
                .await
        {
            return Some(format!(
                "with the bus quiet, before the final full sync: {broken}"
            ));
        }
        self.step += 1;
        let id = format!("final-{}", self.seed);
        let body = json!({ "request_id": id }).to_string().into_bytes();
        self.publish("catalog.sync.requested", Some(id.clone()), body)
            .await;
        if !self.finished(&id, 120).await {
            return Some(
                self.with_worker_log("the final full sync did not finish within 120 s".into()),
            );
        }
        let (status, summary): (String, Value) = sqlx::query_as(
            "select status, summary from sync_runs where request_id = $1 and summary is not null",
        )
        .bind(&id)
        .fetch_one(&self.db.pool)
        .await
        .expect("final run");
        if status != "succeeded" {
            return Some(format!("the final full sync was {status}: {summary:#}"));
        }
        let stuck: i64 =
            sqlx::query_scalar("select count(*) from sync_runs where status = 'running'")
                .fetch_one(&self.db.pool)
                .await
                .unwrap_or(0);
        if stuck > 0 {
            return Some(format!(
                "{stuck} runs still marked running after the bus drained"
            ));
        }
        if let Some(diff) = super::compare::diff(&self.db.pool, &self.sim, self.variants).await {
            return Some(format!("after the final full sync: {diff}"));
        }
        if let Some(wrong) = super::compare::counts_add_up(&self.db.pool).await {
            return Some(wrong);
        }
        super::compare::invariants(&self.db.pool, &self.sim, &self.handles, &mut self.versions)
            .await
            .map(|broken| format!("after the final full sync: {broken}"))
    }

    /// Waits until both consumers have nothing pending or unacknowledged and no run is going,
    /// three times in a row.
    async fn drained(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut quiet = 0;
        while Instant::now() < deadline {
            let idle = self.consumers_idle().await
                && sqlx::query_scalar::<_, i64>(
                    "select count(*) from sync_runs where status = 'running'",
                )
                .fetch_one(&self.db.pool)
                .await
                .is_ok_and(|n| n == 0);
            quiet = if idle { quiet + 1 } else { 0 };
            if quiet >= 3 {
                return true;
            }
            if let Some(child) = self.worker.as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                self.log.push("  worker exited by itself; restarted".into());
                self.start_worker();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        false
    }

    async fn consumers_idle(&self) -> bool {
        let Ok(stream) = self.js.get_stream("CATALOG").await else {
            return false;
        };
        for name in ["catalog-sync-requests", "catalog-sync-updates"] {
            match stream.consumer_info(name).await {
                Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => {}
                _ => return false,
            }
        }
        true
    }

    fn with_worker_log(&self, what: String) -> String {
        let log = std::fs::read_to_string(&self.worker_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("{what}\nworker log (last lines):\n{}", tail.join("\n"))
    }
}
