//! The webhook ingress against a real nats-server: signatures computed here from known secrets
//! (the Standard Webhooks test vector is in the unit tests: its timestamp is years outside the
//! window), the answers of each case, what reaches the stream, and end to end with the worker
//! and the simulator as the shop.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use catalog_sync::ingress::{self, IngressSettings, Secrets, sign_base64};
use catalog_sync::settings::{NatsSettings, Topology};
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::support::*;

const SHOPIFY_SECRET: &str = "shpss_current";
const SHOPIFY_PREVIOUS: &str = "shpss_previous";
const WOO_SECRET: &str = "woo-secret";
const STANDARD_KEY: &[u8] = b"standard webhooks key, 32 bytes!";

fn standard_secret() -> String {
    format!("whsec_{}", BASE64.encode(STANDARD_KEY))
}

fn settings() -> IngressSettings {
    IngressSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        shopify: Some(
            Secrets::plain(
                "SHOPIFY_WEBHOOK_SECRET",
                &format!("{SHOPIFY_SECRET},{SHOPIFY_PREVIOUS}"),
            )
            .unwrap(),
        ),
        woocommerce: Some(Secrets::plain("WOOCOMMERCE_WEBHOOK_SECRET", WOO_SECRET).unwrap()),
        standard: Some(Secrets::standard("STANDARD_WEBHOOK_SECRET", &standard_secret()).unwrap()),
        max_body_bytes: Some(64 * 1024),
    }
}

/// An ingress served in-process against `nats`, as `catalog-sync ingress` serves it.
struct Receiver {
    url: String,
    js: async_nats::jetstream::Context,
    stop: CancellationToken,
}

impl Receiver {
    async fn start(nats: &NatsServer, settings: IngressSettings) -> Receiver {
        init();
        let topology = Topology::default();
        let (client, _) = catalog_sync::app::connect_and_setup(
            &NatsSettings::plain(nats.url()),
            &topology,
            "test ingress",
        )
        .await
        .expect("NATS set up");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let js = async_nats::jetstream::new(client.clone());
        tokio::spawn(ingress::serve(
            listener,
            client,
            topology,
            settings,
            stop.clone(),
        ));
        Receiver { url, js, stop }
    }

    async fn events(&self) -> Vec<serde_json::Value> {
        let topology = Topology::default();
        stored(&self.js, &topology.stream, &topology.updated_subject).await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A webhook as a shop sends it.
struct Webhook {
    route: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Webhook {
    fn shopify(secret: &str, topic: &str, event_id: &str, body: &[u8]) -> Webhook {
        Webhook {
            route: "/webhooks/shopify",
            headers: vec![
                ("X-Shopify-Topic".into(), topic.into()),
                ("X-Shopify-Event-Id".into(), event_id.into()),
                ("X-Shopify-Webhook-Id".into(), format!("w-{event_id}")),
                (
                    "X-Shopify-Hmac-Sha256".into(),
                    sign_base64(secret.as_bytes(), body),
                ),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: body.to_vec(),
        }
    }

    fn woocommerce(topic: &str, body: &[u8]) -> Webhook {
        Webhook {
            route: "/webhooks/woocommerce",
            headers: vec![
                ("X-WC-Webhook-Topic".into(), topic.into()),
                (
                    "X-WC-Webhook-Signature".into(),
                    sign_base64(WOO_SECRET.as_bytes(), body),
                ),
            ],
            body: body.to_vec(),
        }
    }

    fn standard(id: &str, sent: i64, body: &[u8]) -> Webhook {
        let mut signed = format!("{id}.{sent}.").into_bytes();
        signed.extend_from_slice(body);
        Webhook {
            route: "/webhooks/standard",
            headers: vec![
                ("webhook-id".into(), id.into()),
                ("webhook-timestamp".into(), sent.to_string()),
                (
                    "webhook-signature".into(),
                    format!("v1,{}", sign_base64(STANDARD_KEY, &signed)),
                ),
            ],
            body: body.to_vec(),
        }
    }

    fn with(mut self, name: &str, value: &str) -> Webhook {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    fn without(mut self, name: &str) -> Webhook {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    async fn send(&self, base: &str) -> (u16, String) {
        let mut request = reqwest::Client::new()
            .post(format!("{base}{}", self.route))
            .body(self.body.clone());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("the ingress answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

/// An event's product id as text (a Standard Webhooks sender may give it as a number).
fn product_id(event: &serde_json::Value) -> String {
    match &event["product_id"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Shopify product body as Shopify writes it, `/` escaped as `\/`.
fn shopify_product(id: u64, updated_at: &str) -> Vec<u8> {
    format!(
        r#"{{"id":{id},"title":"Lamp {id}","body_html":"<p>A lamp<\/p>","updated_at":"{updated_at}","image":{{"src":"https:\/\/cdn.example\/{id}.png"}}}}"#
    )
    .into_bytes()
}

#[tokio::test]
async fn signatures_are_checked_over_the_raw_bytes_and_only_verified_webhooks_are_published() {
    let nats = NatsServer::spawn().await;
    let ingress = Receiver::start(&nats, settings()).await;
    let url = ingress.url.as_str();
    let body = shopify_product(1, "2026-12-01T10:30:00-05:00");

    // Signed over the bytes as sent (with `\/`): published, carrying the body untouched.
    let hook = Webhook::shopify(SHOPIFY_SECRET, "products/update", "e-1", &body);
    let (status, text) = hook.send(url).await;
    assert_eq!(status, 200, "{text}");
    let events = ingress.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["product_id"], "1");
    assert_eq!(events[0]["updated_at"], "2026-12-01T15:30:00Z");
    assert_eq!(
        events[0]["product"]["image"]["src"],
        "https://cdn.example/1.png"
    );

    // Signed over the same JSON re-serialised (`/` unescaped): not the bytes sent.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    let forged = Webhook::shopify(SHOPIFY_SECRET, "products/update", "e-2", &reserialised);
    let forged = Webhook {
        body: body.clone(),
        ..forged
    };
    assert_eq!(forged.send(url).await.0, 401);

    // Bad, missing and truncated signatures; a secret we do not hold.
    let good = Webhook::shopify(SHOPIFY_SECRET, "products/update", "e-3", &body);
    let signature = good
        .headers
        .iter()
        .find(|(n, _)| n == "X-Shopify-Hmac-Sha256")
        .unwrap()
        .1
        .clone();
    for bad in [
        "",
        "bm9wZQ==",
        &signature[..signature.len() - 8],
        &signature[..4],
    ] {
        let hook = Webhook::shopify(SHOPIFY_SECRET, "products/update", "e-3", &body)
            .with("X-Shopify-Hmac-Sha256", bad);
        let (status, text) = hook.send(url).await;
        assert_eq!(status, 401, "{bad:?}: {text}");
        assert!(
            !text.contains(&signature),
            "the expected signature is never shown"
        );
    }
    let missing = Webhook::shopify(SHOPIFY_SECRET, "products/update", "e-3", &body)
        .without("X-Shopify-Hmac-Sha256");
    assert_eq!(missing.send(url).await.0, 401);
    let stranger = Webhook::shopify("someone else", "products/update", "e-3", &body);
    assert_eq!(stranger.send(url).await.0, 401);

    // During a rotation the previous secret still verifies.
    let previous = Webhook::shopify(
        SHOPIFY_PREVIOUS,
        "products/update",
        "e-4",
        &shopify_product(2, "2026-12-01T10:30:00Z"),
    );
    assert_eq!(previous.send(url).await.0, 200);

    // Standard Webhooks: now is fine; 10 minutes old or ahead is refused even when signed.
    let data =
        br#"{"type":"product.updated","timestamp":"2026-12-01T10:00:00Z","data":{"product_id":3}}"#;
    assert_eq!(
        Webhook::standard("msg_1", now(), data).send(url).await.0,
        200
    );
    for sent in [now() - 600, now() + 600] {
        let (status, text) = Webhook::standard("msg_2", sent, data).send(url).await;
        assert_eq!(status, 401, "{text}");
        assert!(text.contains("5 minutes"), "{text}");
    }
    let truncated = Webhook::standard("msg_3", now(), data).with("webhook-signature", "v1,");
    assert_eq!(truncated.send(url).await.0, 401);

    // An unreadable signed body is the sender's bug: 400.
    let (status, text) = Webhook::shopify(SHOPIFY_SECRET, "products/update", "e-5", b"{not json")
        .send(url)
        .await;
    assert_eq!(status, 400, "{text}");

    // WooCommerce's unsigned activation ping, and topics that are not about products.
    let ping = Webhook::woocommerce("", b"webhook_id=42").without("X-WC-Webhook-Signature");
    assert_eq!(ping.send(url).await.0, 200);
    let orders = Webhook::woocommerce("order.created", br#"{"id": 9}"#);
    assert_eq!(orders.send(url).await.0, 200);
    let unsigned_order =
        Webhook::woocommerce("order.created", br#"{"id": 9}"#).without("X-WC-Webhook-Signature");
    assert_eq!(
        unsigned_order.send(url).await.0,
        401,
        "only the ping comes unsigned"
    );

    let ids: Vec<String> = ingress.events().await.iter().map(product_id).collect();
    assert_eq!(ids, ["1", "2", "3"], "only the verified product webhooks");
}

#[tokio::test]
async fn a_retried_delivery_is_published_once_and_oversized_bodies_are_refused() {
    let nats = NatsServer::spawn().await;
    let ingress = Receiver::start(&nats, settings()).await;
    let url = ingress.url.as_str();
    let body = shopify_product(5, "2026-12-01T10:30:00Z");
    for attempt in 0..2 {
        let (status, text) =
            Webhook::shopify(SHOPIFY_SECRET, "products/update", "same-event", &body)
                .send(url)
                .await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(text.contains("already received"), attempt == 1, "{text}");
    }
    // WooCommerce: the same product version twice.
    let woo = br#"{"id": 6, "name": "Mug", "date_modified_gmt": "2026-12-01T10:00:00"}"#;
    for _ in 0..2 {
        assert_eq!(
            Webhook::woocommerce("product.updated", woo)
                .send(url)
                .await
                .0,
            200
        );
    }
    assert_eq!(ingress.events().await.len(), 2);

    // Over the limit, with a declared length and without one (chunked): refused, and the
    // ingress keeps answering.
    let big = vec![b' '; 65 * 1024];
    let declared = Webhook::shopify(SHOPIFY_SECRET, "products/update", "big-1", &big);
    assert_eq!(declared.send(url).await.0, 413);
    let chunks =
        futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b' '; 4096])));
    let chunked = reqwest::Client::new()
        .post(format!("{url}/webhooks/shopify"))
        .header("X-Shopify-Topic", "products/update")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status().as_u16(), 413);
    let after = Webhook::shopify(
        SHOPIFY_SECRET,
        "products/update",
        "after",
        &shopify_product(7, "2026-12-01T10:30:00Z"),
    );
    assert_eq!(after.send(url).await.0, 200);
}

#[tokio::test]
async fn a_route_without_a_secret_does_not_exist() {
    let nats = NatsServer::spawn().await;
    let only_shopify = IngressSettings {
        woocommerce: None,
        standard: None,
        ..settings()
    };
    let ingress = Receiver::start(&nats, only_shopify).await;
    let woo = Webhook::woocommerce("product.updated", br#"{"id": 1}"#);
    assert_eq!(woo.send(&ingress.url).await.0, 404);
    let data = br#"{"type":"catalog.sync.requested","data":{}}"#;
    assert_eq!(
        Webhook::standard("msg_1", now(), data)
            .send(&ingress.url)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn without_the_bus_webhooks_get_503_in_time_and_200_once_it_is_back() {
    let mut nats = NatsServer::spawn().await;
    let ingress = Receiver::start(&nats, settings()).await;
    let url = ingress.url.clone();
    nats.stop();
    let hook = Webhook::shopify(
        SHOPIFY_SECRET,
        "products/update",
        "down-1",
        &shopify_product(8, "2026-12-01T10:30:00Z"),
    );
    let started = tokio::time::Instant::now();
    let (status, text) = hook.send(&url).await;
    assert_eq!(status, 503, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered before Shopify's 5 s give up: {:?}",
        started.elapsed()
    );
    nats.start_again().await;
    let mut answered = 0;
    let back = eventually(30, || {
        let (hook, url) = (&hook, &url);
        answered += 1;
        async move { hook.send(url).await.0 == 200 }
    })
    .await;
    assert!(back, "200 once NATS is back ({answered} tries)");
    // The sender retried what got 503: the product is on the stream.
    let events = ingress.events().await;
    assert!(events.iter().any(|e| e["product_id"] == "8"), "{events:?}");
}

#[tokio::test]
async fn a_burst_of_a_thousand_webhooks_is_taken_whole() {
    let nats = NatsServer::spawn().await;
    let ingress = Receiver::start(&nats, settings()).await;
    let url = ingress.url.as_str();
    let answers: Vec<u16> = futures_util::stream::iter(1..=1000u64)
        .map(|id| async move {
            let body = shopify_product(id, "2026-12-01T10:30:00Z");
            Webhook::shopify(
                SHOPIFY_SECRET,
                "products/update",
                &format!("burst-{id}"),
                &body,
            )
            .send(url)
            .await
            .0
        })
        .buffer_unordered(100)
        .collect()
        .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    let mut ids: Vec<u64> = ingress
        .events()
        .await
        .iter()
        .map(|e| product_id(e).parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
}

/// The peak resident memory of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_ingress_command_refuses_bad_secrets_and_stays_small_under_oversized_bodies() {
    init();
    let nats = NatsServer::spawn().await;
    let command = |vars: &[(&str, &str)]| {
        let mut command = tokio::process::Command::new(crate::support::process::BIN);
        command
            .arg("ingress")
            .env_clear()
            .env("NATS_URL", nats.url())
            .env("METRICS_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .envs(vars.iter().copied())
            .kill_on_drop(true);
        command
    };
    let none = command(&[]).output().await.unwrap();
    assert_eq!(none.status.code(), Some(2));
    let said = String::from_utf8_lossy(&none.stderr);
    assert!(said.contains("no webhook secret is set"), "{said}");
    let bad = command(&[("STANDARD_WEBHOOK_SECRET", "whsec_not-base64!")])
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("STANDARD_WEBHOOK_SECRET"), "{said}");
    assert!(
        !said.contains("not-base64"),
        "the secret is never shown: {said}"
    );

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = command(&[
        ("SHOPIFY_WEBHOOK_SECRET", SHOPIFY_SECRET),
        ("INGRESS_LISTEN", &listen),
    ])
    .spawn()
    .unwrap();
    let url = format!("http://{listen}");
    let hook = Webhook::shopify(
        SHOPIFY_SECRET,
        "products/update",
        "p-1",
        &shopify_product(1, "2026-12-01T10:30:00Z"),
    );
    let url_ref = url.as_str();
    let hook_ref = &hook;
    assert!(
        eventually(20, || async move {
            reqwest::Client::new()
                .post(format!("{url_ref}/webhooks/shopify"))
                .send()
                .await
                .is_ok()
        })
        .await,
        "catalog-sync ingress listens on {listen}"
    );
    assert_eq!(hook_ref.send(url_ref).await.0, 200);
    let before = peak_rss_kib(child.id().unwrap());

    // 200 senders of 16 MiB bodies at once, half of them without a declared length.
    let answers: Vec<u16> = futures_util::stream::iter(0..200)
        .map(|n| async move {
            let request = reqwest::Client::new()
                .post(format!("{url_ref}/webhooks/shopify"))
                .header("X-Shopify-Topic", "products/update");
            let request = if n % 2 == 0 {
                request.body(vec![b' '; 16 << 20])
            } else {
                let chunks = (0..256).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 << 10]));
                request.body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                )))
            };
            // A refused upload may be cut off while it is still being sent.
            request.send().await.map_or(413, |r| r.status().as_u16())
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(answers.iter().all(|s| *s == 413), "{answers:?}");
    assert_eq!(
        hook_ref.send(url_ref).await.0,
        200,
        "still up and publishing"
    );
    let peak = peak_rss_kib(child.id().unwrap());
    eprintln!("catalog-sync ingress: peak RSS {before} KiB before, {peak} KiB after");
    assert!(
        peak < 128 * 1024,
        "peak RSS {peak} KiB (before the oversized bodies: {before} KiB)"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn without_its_stream_a_webhook_gets_503_until_the_stream_is_back() {
    let nats = NatsServer::spawn().await;
    let ingress = Receiver::start(&nats, settings()).await;
    let topology = Topology::default();
    ingress.js.delete_stream(&topology.stream).await.unwrap();
    let hook = Webhook::shopify(
        SHOPIFY_SECRET,
        "products/update",
        "no-stream",
        &shopify_product(9, "2026-12-01T10:30:00Z"),
    );
    let (status, text) = hook.send(&ingress.url).await;
    assert_eq!(status, 503, "{text}");
    assert!(!text.contains("published"), "{text}");
    // A worker (or `catalog-sync setup`) creates the stream again; the shop's retry lands.
    catalog_sync::bus::setup(&ingress.js, &topology)
        .await
        .unwrap();
    assert_eq!(hook.send(&ingress.url).await.0, 200);
    assert_eq!(ingress.events().await.len(), 1);
}
