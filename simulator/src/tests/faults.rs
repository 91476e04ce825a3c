//! Misbehaviour over HTTP: rate limit, scripted faults, truncation, hangs, latency, errors.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::{Fault, Simulator, SimulatorConfig};
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
