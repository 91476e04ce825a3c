//! HTTP Basic authentication of the product routes, over HTTP.

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use super::super::SimulatorConfig;
use super::{admin, client, start};

#[tokio::test]
async fn basic_auth_guards_the_product_routes_only() {
    let sim = start(SimulatorConfig {
        basic_auth: Some(("sync".to_owned(), "s3:cret".to_owned())),
        ..SimulatorConfig::default()
    })
    .await;
    for suffix in ["", "/1"] {
        let url = format!("{}{suffix}", sim.url());
        let response = client().get(&url).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"simulator\""
        );
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({ "message": "Authentication required" }));
        let wrong = client().get(&url).basic_auth("sync", Some("s3"));
        let status = wrong.send().await.expect("sent").status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let right = client().get(&url).basic_auth("sync", Some("s3:cret"));
        let status = right.send().await.expect("sent").status();
        assert_eq!(status, StatusCode::OK);
    }
    let (status, stats) = admin(&sim, Method::GET, "stats", None).await;
    assert_eq!(status, StatusCode::OK, "admin routes need no credentials");
    assert_eq!(stats["list"], 3, "refused requests are counted");
}
