//! Misbehaviour over HTTP: rate limit, scripted faults, truncation, hangs, latency, errors,
//! broken bytes and compression.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::{Compression, Encoding, Fault, Simulator, SimulatorConfig};
use super::{admin, client, get, local, start};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let config = SimulatorConfig::default();
    let sim = Simulator::start_with_rate_limit(config, local(), 3, Duration::from_secs(10))
        .await
        .expect("starts");
    for _ in 0..3 {
        assert_eq!(get(&sim, "?limit=1").await.0, StatusCode::OK);
    }
    let response = client().get(sim.url()).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=10).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "message": "Too many requests" }));
    let stats = admin(&sim, reqwest::Method::GET, "stats", None).await;
    assert_eq!(stats.0, StatusCode::OK, "admin requests are not limited");
}

#[tokio::test]
async fn scripted_faults_apply_in_order_then_stop() {
    let sim = start(SimulatorConfig::default()).await;
    sim.fail_next(2, Fault::Status(500));
    sim.fail_next(1, Fault::Status(503));
    sim.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after: Duration::from_millis(1500),
        },
    );
    for _ in 0..2 {
        let (status, body) = get(&sim, "/1").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({ "message": "Internal server error" }));
    }
    assert_eq!(get(&sim, "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    let response = client().get(sim.url()).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[reqwest::header::RETRY_AFTER], "2");
    assert_eq!(get(&sim, "/1").await.0, StatusCode::OK);

    sim.fail_page_always(10);
    for _ in 0..3 {
        assert_eq!(
            get(&sim, "?skip=10&limit=10").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(get(&sim, "?skip=20&limit=10").await.0, StatusCode::OK);
    sim.fail_next(5, Fault::Status(502));
    sim.clear_faults();
    assert_eq!(get(&sim, "?skip=10&limit=10").await.0, StatusCode::OK);
}

#[tokio::test]
async fn truncated_bodies_fail_on_the_client() {
    let sim = start(SimulatorConfig::default()).await;
    let full = client().get(sim.url()).send().await.expect("sent");
    let full_length = full.bytes().await.expect("whole body").len();
    sim.fail_next(1, Fault::Truncate);
    let response = client()
        .get(sim.url())
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(full_length as u64));
    assert!(response.bytes().await.is_err(), "the body is cut short");
    assert_eq!(
        get(&sim, "").await.0,
        StatusCode::OK,
        "only one request was cut"
    );

    let always = start(SimulatorConfig {
        truncate_rate: 1.0,
        ..SimulatorConfig::default()
    })
    .await;
    let response = client()
        .get(format!("{}/1", always.url()))
        .send()
        .await
        .expect("sent");
    assert!(response.json::<Value>().await.is_err());
}

#[tokio::test]
async fn hangs_make_short_timeouts_expire() {
    let sim = start(SimulatorConfig::default()).await;
    sim.fail_next(1, Fault::Hang(Duration::from_secs(3)));
    let started = Instant::now();
    let error = client()
        .get(sim.url())
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(get(&sim, "/2").await.0, StatusCode::OK);
}

#[tokio::test]
async fn latency_and_error_rate_knobs() {
    let slow = SimulatorConfig {
        latency: Duration::from_millis(200),
        ..SimulatorConfig::default()
    };
    let sim = start(slow).await;
    let started = Instant::now();
    assert_eq!(get(&sim, "/1").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));

    let failing = start(SimulatorConfig {
        error_rate: 1.0,
        ..SimulatorConfig::default()
    })
    .await;
    let (status, body) = get(&failing, "?limit=1").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["message"], "Internal server error");
}

#[tokio::test]
async fn rewrites_break_the_bytes_of_every_answer_until_cleared() {
    let sim = start(SimulatorConfig {
        products: 5,
        ..SimulatorConfig::default()
    })
    .await;
    sim.set_field(3, "title", Some(r#""@bad@""#)).unwrap();
    sim.set_field(4, "price", Some(r#""@nan@""#)).unwrap();
    sim.rewrite_answers(b"@bad@", b"B\xffD");
    sim.rewrite_answers(br#""@nan@""#, b"NaN");
    let bytes = |suffix: &'static str| {
        let sim = sim.clone();
        async move {
            client()
                .get(format!("{}{suffix}", sim.url()))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        }
    };
    let page = bytes("?limit=10").await;
    assert!(
        page.windows(3).any(|w| w == b"B\xffD"),
        "invalid UTF-8 served"
    );
    assert!(
        page.windows(11).any(|w| w == b"\"price\":NaN"),
        "NaN served"
    );
    assert!(std::str::from_utf8(&bytes("/3").await).is_err());
    sim.clear_faults();
    assert!(serde_json::from_slice::<Value>(&bytes("?limit=10").await).is_ok());
}

#[tokio::test]
async fn answers_are_compressed_when_asked_or_always() {
    use std::io::Read as _;
    // A client that neither asks for compression nor undoes it (in a workspace build its
    // features include the service's decompression).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_deflate()
        .no_brotli()
        .build()
        .unwrap();
    for (encoding, unasked) in [
        (Encoding::Gzip, false),
        (Encoding::Deflate, true),
        (Encoding::Brotli, true),
    ] {
        let sim = start(SimulatorConfig {
            products: 5,
            compression: Some(Compression { encoding, unasked }),
            ..SimulatorConfig::default()
        })
        .await;
        let mut request = raw.get(format!("{}?limit=5", sim.url()));
        if !unasked {
            request = request.header("accept-encoding", encoding.token());
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["content-encoding"].to_str().unwrap(),
            encoding.token()
        );
        let compressed = response.bytes().await.unwrap();
        let mut plain = Vec::new();
        match encoding {
            Encoding::Gzip => flate2::read::GzDecoder::new(&compressed[..])
                .read_to_end(&mut plain)
                .map(drop),
            Encoding::Deflate => flate2::read::ZlibDecoder::new(&compressed[..])
                .read_to_end(&mut plain)
                .map(drop),
            Encoding::Brotli => brotli::Decompressor::new(&compressed[..], 4096)
                .read_to_end(&mut plain)
                .map(drop),
        }
        .unwrap();
        let page: Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(page["products"].as_array().unwrap().len(), 5);
        assert_eq!(sim.request_counts().compressed, 1);
        // Asked for nothing, an answer that only follows Accept-Encoding is plain.
        if !unasked {
            let plain = client()
                .get(format!("{}?limit=5", sim.url()))
                .send()
                .await
                .unwrap();
            assert!(plain.headers().get("content-encoding").is_none());
        }
    }
}
