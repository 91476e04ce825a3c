//! Traces as an operator sees them in Jaeger: the processes export real OTLP (HTTP/protobuf and
//! gRPC) to a receiver started by the test, and W3C trace context travels in NATS headers from
//! the publisher through the worker to the summary.

use std::collections::HashMap;
use std::process::Stdio;

use crate::support::app::TestApp;
use crate::support::otlp::{OtlpReceiver, ReceivedSpan};
use crate::support::process::{Env, terminate};
use crate::support::*;
use catalog_sync::domain::{RunStatus, RunSummary};
use catalog_sync::messages::ProductUpdated;
use catalog_sync_simulator::Fault;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use sqlx::PgPool;
use tokio::io::AsyncReadExt as _;

/// Spans leave the processes within a tenth of a second instead of the SDK's five.
const FAST_EXPORT: (&str, &str) = ("OTEL_BSP_SCHEDULE_DELAY", "100");

/// `RUST_LOG` filters spans as well as logs: ours at info make the trace tree.
const SPANS_ON: (&str, &str) = ("RUST_LOG", "warn,catalog_sync=info");

/// The spans of one trace, by span id.
struct Trace<'a> {
    by_id: HashMap<&'a str, &'a ReceivedSpan>,
}

impl<'a> Trace<'a> {
    fn of(spans: &'a [ReceivedSpan], trace_id: &str) -> Trace<'a> {
        Trace {
            by_id: spans
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .map(|s| (s.span_id.as_str(), s))
                .collect(),
        }
    }

    fn named(&self, name: &str) -> Vec<&'a ReceivedSpan> {
        let mut found: Vec<_> = self
            .by_id
            .values()
            .copied()
            .filter(|s| s.name == name)
            .collect();
        found.sort_by(|a, b| a.attr("skip").cmp(&b.attr("skip")));
        found
    }

    fn the(&self, name: &str) -> &'a ReceivedSpan {
        let found = self.named(name);
        assert_eq!(found.len(), 1, "one {name} span in {:#?}", self.names());
        found[0]
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_id.values().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// Whether `ancestor` is on the parent chain of `span`.
    fn descends(&self, span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
        let mut parent = span.parent_span_id.as_str();
        while let Some(up) = self.by_id.get(parent) {
            if up.span_id == ancestor.span_id {
                return true;
            }
            parent = up.parent_span_id.as_str();
        }
        false
    }
}

/// The spans received once the summary's publish span is among them.
async fn with_summary_published(otlp: &OtlpReceiver) -> Vec<ReceivedSpan> {
    otlp.wait_for(10, |spans| {
        spans
            .iter()
            .any(|s| s.name == "publish catalog.sync.completed")
    })
    .await
}

/// The app's environment, exporting spans quickly over HTTP to `otlp`.
fn exporting(app: &TestApp, otlp: &OtlpReceiver) -> Env {
    app.env().with(&[
        FAST_EXPORT,
        SPANS_ON,
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.http_endpoint),
    ])
}

/// The trace id in a `traceparent` header value.
fn trace_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

fn sync_env(pool: &PgPool, sim: &catalog_sync_simulator::Simulator) -> Env {
    Env {
        vars: vec![
            ("DATABASE_URL", database_url(pool)),
            ("SYNC_API_URL", sim.url().to_string()),
            ("SYNC_PAGE_SIZE", "50".into()),
            ("SYNC_MAX_RETRIES", "2".into()),
            ("SYNC_RETRY_MIN_DELAY", "10ms".into()),
            ("SYNC_RETRY_MAX_DELAY", "50ms".into()),
            (SPANS_ON.0, SPANS_ON.1.to_owned()),
            (FAST_EXPORT.0, FAST_EXPORT.1.to_owned()),
        ],
    }
}

/// `catalog-sync sync --json` in `env`: its exit code and summary.
async fn sync(env: &Env) -> (i32, RunSummary) {
    let (code, summary, _) = env.sync_json().await;
    (code, summary)
}

#[sqlx::test]
async fn one_trace_runs_from_the_cli_request_through_the_worker_to_the_summary(pool: PgPool) {
    let sim = simulator(300).await;
    let app = TestApp::new(&pool, &sim).await;
    let otlp = OtlpReceiver::start().await;
    let env = app.env().with(&[FAST_EXPORT, SPANS_ON]);
    env.setup().await;

    // The worker exports over HTTP/protobuf, the CLI over gRPC under its own service name.
    let mut worker = env
        .with(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.http_endpoint),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
            ("RUST_LOG", "info"),
        ])
        .command(&["worker"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts");
    let mut stderr = worker.stderr.take().expect("piped stderr");
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let cli = env.with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.grpc_endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_SERVICE_NAME", "shop-admin"),
    ]);
    let output = cli
        .run_ok(&["request", "--wait", "--json", "--request-id", "traced"])
        .await;
    let summary: RunSummary = serde_json::from_slice(&output.stdout).expect("summary JSON");
    assert_eq!(summary.status, RunStatus::Succeeded);
    let trace_id = summary
        .trace_id
        .clone()
        .expect("the summary names its trace");

    // The summary message carries the same trace on to whoever consumes it.
    let js = app.js.clone();
    let completed = js
        .get_stream("CATALOG_RESULTS")
        .await
        .unwrap()
        .get_last_raw_message_by_subject("catalog.sync.completed")
        .await
        .unwrap();
    let traceparent = completed
        .headers
        .get("traceparent")
        .expect("the summary has a traceparent")
        .as_str()
        .to_owned();
    assert_eq!(trace_of(&traceparent), trace_id);

    // Stopping the worker flushes what it still buffers.
    assert!(terminate(&mut worker).await.success());
    let logs = logs.await.unwrap();

    let spans = with_summary_published(&otlp).await;
    let trace = Trace::of(&spans, &trace_id);

    let publish = trace.the("publish catalog.sync.requested");
    assert_eq!(
        (publish.transport, publish.service.as_str(), publish.kind),
        ("grpc", "shop-admin", SpanKind::Producer)
    );
    assert!(
        publish.parent_span_id.is_empty(),
        "the request starts the trace"
    );
    assert_eq!(publish.attr("messaging.system"), Some("nats"));
    assert_eq!(
        publish.attr("messaging.destination.name"),
        Some("catalog.sync.requested")
    );
    assert_eq!(publish.attr("messaging.message.id"), Some("traced"));

    let process = trace.the("process catalog.sync.requested");
    assert_eq!(
        (process.transport, process.service.as_str(), process.kind),
        ("http", "catalog-sync-worker", SpanKind::Consumer)
    );
    assert_eq!(process.parent_span_id, publish.span_id);
    assert_eq!(
        process
            .resource
            .get("deployment.environment")
            .map(String::as_str),
        Some("test")
    );
    assert_eq!(process.attr("messaging.system"), Some("nats"));
    assert_eq!(process.status, StatusCode::Ok);

    let run = trace.the("sync.run");
    assert_eq!(run.parent_span_id, process.span_id);
    assert_eq!(run.attr("mode"), Some("full"));
    assert_eq!(
        run.attr("run_id"),
        Some(summary.run_id.to_string().as_str())
    );
    assert_eq!(run.attr("status"), Some("succeeded"));
    assert_eq!(run.status, StatusCode::Ok);

    let pages = trace.named("upstream.page");
    assert!(pages.len() >= 6, "300 products in pages of 50: {pages:#?}");
    for page in &pages {
        assert!(trace.descends(page, run), "{page:#?} under the run");
        assert_eq!(page.attr("limit"), Some("50"));
        assert_eq!(page.status, StatusCode::Ok);
    }
    let requests = trace.named("GET");
    assert_eq!(requests.len(), pages.len(), "one HTTP request per page");
    for request in &requests {
        assert_eq!(request.kind, SpanKind::Client);
        assert_eq!(request.attr("http.request.method"), Some("GET"));
        assert_eq!(request.attr("http.response.status_code"), Some("200"));
        assert!(
            request
                .attr("url.full")
                .is_some_and(|u| u.contains("skip="))
        );
        assert!(pages.iter().any(|p| p.span_id == request.parent_span_id));
    }

    let batches = trace.named("sync.batch");
    assert!(!batches.is_empty());
    let mut created = 0;
    for batch in &batches {
        assert!(trace.descends(batch, run), "{batch:#?} under the run");
        assert_eq!(batch.attr("db.system"), Some("postgresql"));
        assert_eq!(batch.status, StatusCode::Ok);
        created += batch.attr("created").unwrap().parse::<u64>().unwrap();
    }
    assert_eq!(created, 300);

    let answer = trace.the("publish catalog.sync.completed");
    assert_eq!(answer.kind, SpanKind::Producer);
    assert!(trace.descends(answer, process));
    assert_eq!(
        traceparent.split('-').nth(2),
        Some(answer.span_id.as_str()),
        "the summary's traceparent names the span that published it"
    );

    // Nothing of this run landed in another trace.
    assert_eq!(spans.iter().filter(|s| s.name == "sync.run").count(), 1);
    // And the worker's log lines carry the trace id.
    let finished = logs
        .lines()
        .find(|line| line.contains("sync finished"))
        .unwrap_or_else(|| panic!("a sync finished line in {logs}"));
    assert!(finished.contains(&trace_id), "{finished}");
}

/// The service name of the `sync.run` span of the trace `summary` names.
async fn run_service(otlp: &OtlpReceiver, summary: &RunSummary) -> String {
    let trace_id = summary
        .trace_id
        .clone()
        .expect("the summary names its trace");
    let spans = otlp
        .wait_for(10, |spans| {
            spans
                .iter()
                .any(|s| s.trace_id == trace_id && s.name == "sync.run")
        })
        .await;
    Trace::of(&spans, &trace_id).the("sync.run").service.clone()
}

#[sqlx::test]
async fn each_process_names_its_service_by_role_unless_the_environment_names_one(pool: PgPool) {
    let sim = simulator(20).await;
    let otlp = OtlpReceiver::start().await;
    let env = sync_env(&pool, &sim).with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.http_endpoint)]);

    let (code, summary) = sync(&env).await;
    assert_eq!(code, 0);
    assert_eq!(run_service(&otlp, &summary).await, "catalog-sync-cli");

    let attributed = env.with(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.name=nightly-import,deployment.environment=test",
    )]);
    let (_, summary) = sync(&attributed).await;
    assert_eq!(run_service(&otlp, &summary).await, "nightly-import");

    let named = attributed.with(&[("OTEL_SERVICE_NAME", "catalog-admin")]);
    let (_, summary) = sync(&named).await;
    assert_eq!(
        run_service(&otlp, &summary).await,
        "catalog-admin",
        "OTEL_SERVICE_NAME is above OTEL_RESOURCE_ATTRIBUTES"
    );

    // The scheduler's one slot: its publish is the root of the request's trace.
    let nats = NatsServer::spawn().await;
    let start_after = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let scheduler = Env {
        vars: vec![
            ("NATS_URL", nats.url()),
            ("METRICS_LISTEN", "127.0.0.1:0".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.http_endpoint.clone()),
            (SPANS_ON.0, SPANS_ON.1.to_owned()),
            (FAST_EXPORT.0, FAST_EXPORT.1.to_owned()),
        ],
    };
    scheduler
        .run_ok(&[
            "scheduler",
            "--schedule",
            "* * * * * *",
            "--max-runs",
            "1",
            "--start-after",
            &start_after,
        ])
        .await;
    let spans = otlp
        .wait_for(10, |spans| {
            spans
                .iter()
                .any(|s| s.name == "publish catalog.sync.requested")
        })
        .await;
    let publish = spans
        .iter()
        .find(|s| s.name == "publish catalog.sync.requested")
        .expect("the scheduler's publish");
    assert_eq!(publish.service, "catalog-sync-scheduler");
}

#[sqlx::test]
async fn a_product_updated_with_a_traceparent_is_handled_in_that_trace(pool: PgPool) {
    let sim = simulator(20).await;
    let app = TestApp::new(&pool, &sim).await;
    let otlp = OtlpReceiver::start().await;
    let env = exporting(&app, &otlp);
    env.setup().await;
    let mut worker = env.worker();

    // An external publisher's context.
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let parent_id = "00f067aa0ba902b7";
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("traceparent", format!("00-{trace_id}-{parent_id}-01"));
    let js = app.js.clone();
    let event = serde_json::json!({"product_id": "7", "updated_at": chrono::Utc::now()});
    js.publish_with_headers(
        "product.updated",
        headers,
        serde_json::to_vec(&event).unwrap().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    assert!(
        eventually(30, || async {
            !stored(&js, "CATALOG_RESULTS", "catalog.sync.completed")
                .await
                .is_empty()
        })
        .await,
        "a summary for the event"
    );
    let summary: RunSummary = serde_json::from_value(
        stored(&js, "CATALOG_RESULTS", "catalog.sync.completed")
            .await
            .remove(0),
    )
    .unwrap();
    assert_eq!(summary.counts.created, 1);
    assert_eq!(summary.trace_id.as_deref(), Some(trace_id.as_str()));
    assert!(terminate(&mut worker).await.success());

    let spans = with_summary_published(&otlp).await;
    let trace = Trace::of(&spans, &trace_id);
    let received = trace.the("process product.updated");
    assert_eq!(
        received.parent_span_id, parent_id,
        "the publisher's span is the parent"
    );
    assert_eq!(received.kind, SpanKind::Consumer);
    assert_eq!(received.status, StatusCode::Ok);
    let batch = trace.the("process product.updated batch");
    assert_eq!(batch.parent_span_id, received.span_id);
    assert_eq!(batch.attr("messaging.batch.message_count"), Some("1"));
    let run = trace.the("sync.run");
    assert_eq!(run.parent_span_id, batch.span_id);
    assert_eq!(run.attr("mode"), Some("incremental"));
    let product = trace.the("upstream.product");
    assert!(trace.descends(product, run));
    assert_eq!(product.attr("product_id"), Some("7"));
    assert!(trace.descends(trace.the("GET"), product));
    assert!(trace.descends(trace.the("publish catalog.sync.completed"), batch));
}

#[sqlx::test]
async fn a_batch_of_events_from_two_traces_links_the_second(pool: PgPool) {
    let sim = simulator(20).await;
    let app = TestApp::new(&pool, &sim).await;
    let otlp = OtlpReceiver::start().await;
    let env = exporting(&app, &otlp);
    // Both events wait in the stream, so the worker takes them as one batch.
    let traces: Vec<String> = (0..2)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    for (id, trace_id) in ["3", "4"].into_iter().zip(&traces) {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"));
        let event = ProductUpdated {
            updated_at: Some(chrono::Utc::now()),
            ..ProductUpdated::changed(id)
        };
        app.publish_with("product.updated", headers, &event.encode())
            .await;
    }
    let mut worker = env.worker();
    assert!(
        eventually(30, || app.updates_consumer_idle()).await,
        "both events settled"
    );
    assert!(terminate(&mut worker).await.success());

    let spans = with_summary_published(&otlp).await;
    let first = Trace::of(&spans, &traces[0]);
    let batch = first.the("process product.updated batch");
    assert_eq!(batch.attr("messaging.batch.message_count"), Some("2"));
    let second = Trace::of(&spans, &traces[1]).the("process product.updated");
    assert_eq!(
        batch.links,
        vec![(second.trace_id.clone(), second.span_id.clone())],
        "the batch is in the first event's trace and links to the other event's span"
    );
}

#[sqlx::test]
async fn a_retried_page_shows_its_retry_and_a_dead_page_is_an_error(pool: PgPool) {
    let sim = simulator(120).await;
    let otlp = OtlpReceiver::start().await;
    let env = sync_env(&pool, &sim).with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.http_endpoint)]);

    // One 500, then success.
    sim.fail_next(1, Fault::Status(500));
    let (code, summary) = sync(&env).await;
    assert_eq!((code, summary.status), (0, RunStatus::Succeeded));
    let trace_id = summary.trace_id.expect("a trace id");
    let spans = otlp
        .wait_for(10, |spans| spans.iter().any(|s| s.name == "sync.run"))
        .await;
    let trace = Trace::of(&spans, &trace_id);
    let pages = trace.named("upstream.page");
    let retried: Vec<_> = pages
        .iter()
        .filter(|p| p.attr("attempts") == Some("2"))
        .collect();
    assert_eq!(retried.len(), 1, "one page was retried: {pages:#?}");
    let page = retried[0];
    assert_eq!(page.status, StatusCode::Ok, "the retry succeeded");
    let (event, fields) = page
        .events
        .iter()
        .find(|(name, _)| name.contains("retrying"))
        .expect("the retry is an event on the page span");
    assert!(event.contains("upstream request failed"));
    assert_eq!(fields.get("error.type").map(String::as_str), Some("500"));
    let mut attempts: Vec<_> = trace
        .named("GET")
        .into_iter()
        .filter(|r| r.parent_span_id == page.span_id)
        .map(|r| {
            (
                r.attr("http.response.status_code").unwrap_or("").to_owned(),
                r.status,
                r.attr("error.type").map(str::to_owned),
                r.attr("http.request.resend_count").map(str::to_owned),
            )
        })
        .collect();
    attempts.sort();
    assert_eq!(
        attempts,
        vec![
            (
                "200".to_owned(),
                StatusCode::Unset,
                None,
                Some("1".to_owned())
            ),
            (
                "500".to_owned(),
                StatusCode::Error,
                Some("500".to_owned()),
                None
            ),
        ],
        "a failed attempt, then the resent request that succeeded"
    );
    for other in pages.iter().filter(|p| p.span_id != page.span_id) {
        assert_eq!(other.attr("attempts"), Some("1"));
    }

    // A page that keeps failing: the page span and the run are errors.
    // Pages of 50 overlap by one product: they start at 0, 49, 98.
    sim.fail_page_always(49);
    let (code, summary) = sync(&env).await;
    assert_ne!(code, 0);
    assert_ne!(summary.status, RunStatus::Succeeded);
    let trace_id = summary.trace_id.expect("a trace id");
    let spans = otlp
        .wait_for(10, |spans| {
            spans
                .iter()
                .any(|s| s.name == "sync.run" && s.trace_id == trace_id)
        })
        .await;
    let trace = Trace::of(&spans, &trace_id);
    let dead = trace
        .named("upstream.page")
        .into_iter()
        .find(|p| p.attr("skip") == Some("49"))
        .expect("the page at skip 49");
    assert_eq!(dead.status, StatusCode::Error);
    assert!(
        dead.status_message.contains("500"),
        "{}",
        dead.status_message
    );
    assert_eq!(dead.attr("attempts"), Some("3"), "SYNC_MAX_RETRIES=2");
    assert_eq!(
        dead.events
            .iter()
            .filter(|(name, _)| name.contains("retrying"))
            .count(),
        2
    );
    assert_eq!(trace.the("sync.run").status, StatusCode::Error);
}

#[sqlx::test]
async fn without_an_endpoint_nothing_is_exported_and_nothing_fails(pool: PgPool) {
    let sim = simulator(30).await;
    // A receiver where an exporter would send by default (http://localhost:4318), if the port
    // is free here.
    let default_port = OtlpReceiver::start_on("127.0.0.1:4318").await.ok();
    let otlp = OtlpReceiver::start().await;
    let env = sync_env(&pool, &sim);
    let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.http_endpoint.as_str());

    for switched_off in [
        env.with(&[]),
        env.with(&[endpoint, ("OTEL_SDK_DISABLED", "true")]),
        env.with(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]),
    ] {
        let (code, summary) = sync(&switched_off).await;
        assert_eq!((code, summary.status), (0, RunStatus::Succeeded));
        assert_eq!(summary.trace_id, None, "no spans, so no trace id");
    }

    // Sampled out: the run has a trace id to pass on, but no span is sent.
    let (code, summary) = sync(&env.with(&[endpoint, ("OTEL_TRACES_SAMPLER", "always_off")])).await;
    assert_eq!((code, summary.status), (0, RunStatus::Succeeded));
    assert!(summary.trace_id.is_some());

    // An endpoint nobody listens on: the run is not held up by the exporter.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let started = std::time::Instant::now();
    let (code, summary) = sync(&env.with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &closed)])).await;
    assert_eq!((code, summary.status), (0, RunStatus::Succeeded));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // The same run with the endpoint set does export: the silence above is the settings' doing.
    let (_, summary, logs) = env.with(&[endpoint]).sync_json().await;
    let trace_id = summary.trace_id.expect("a trace id");
    for line in ["sync started", "sync finished"] {
        let found = logs.lines().find(|l| l.contains(line));
        assert!(
            found.is_some_and(|l| l.contains(&trace_id)),
            "{line} logged with the trace id: {logs}"
        );
    }
    let spans = otlp
        .wait_for(10, |spans| spans.iter().any(|s| s.name == "sync.run"))
        .await;
    assert!(
        spans.iter().all(|s| s.trace_id == trace_id),
        "only the last run exported"
    );
    assert_eq!(spans.iter().filter(|s| s.name == "sync.run").count(), 1);
    if let Some(default_port) = default_port {
        assert!(
            default_port.spans().is_empty(),
            "nothing sent to the default endpoint"
        );
    }

    // A bad setting is refused up front, naming its variable.
    let output = env
        .with(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")])
        .command(&["sync"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{stderr}");
}

#[sqlx::test]
async fn credentials_in_the_upstream_url_are_redacted_in_spans(pool: PgPool) {
    let sim = simulator_with(catalog_sync_simulator::SimulatorConfig {
        products: 60,
        basic_auth: Some(("shop".into(), "span-pw-0d4f".into())),
        ..Default::default()
    })
    .await;
    let otlp = OtlpReceiver::start().await;
    let mut api = sim.url();
    api.set_username("shop").unwrap();
    api.set_password(Some("span-pw-0d4f")).unwrap();
    let api = api.to_string();
    let env = sync_env(&pool, &sim).with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.http_endpoint),
        ("SYNC_API_URL", &api),
    ]);

    let (code, summary) = sync(&env).await;
    assert_eq!((code, summary.status), (0, RunStatus::Succeeded));
    let spans = otlp
        .wait_for(10, |spans| spans.iter().any(|s| s.name == "sync.run"))
        .await;
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "GET").collect();
    assert!(!requests.is_empty());
    for request in requests {
        let url = request.attr("url.full").unwrap();
        assert!(
            url.starts_with("http://REDACTED:REDACTED@127.0.0.1:"),
            "{url}"
        );
    }
    for span in &spans {
        for value in span.attributes.values() {
            assert!(!value.contains("span-pw-0d4f"), "{span:#?}");
        }
    }
}

#[sqlx::test]
async fn a_webhook_is_a_server_span_whose_trace_continues_into_the_worker(pool: PgPool) {
    let sim = simulator(20).await;
    let app = TestApp::new(&pool, &sim).await;
    let otlp = OtlpReceiver::start().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // `run` with a webhook secret serves the ingress beside the worker.
    let env = exporting(&app, &otlp).with(&[
        ("SHOPIFY_WEBHOOK_SECRET", "shop-secret"),
        ("INGRESS_LISTEN", &listen),
    ]);
    let mut run = env
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run starts");
    // A body without a version: the worker fetches product 7 from the upstream.
    let body = br#"{"id":7}"#;
    let send = || async {
        reqwest::Client::new()
            .post(format!("http://{listen}/webhooks/shopify"))
            .header("X-Shopify-Topic", "products/update")
            .header(
                "X-Shopify-Hmac-Sha256",
                catalog_sync::ingress::sign_base64(b"shop-secret", body),
            )
            .body(body.to_vec())
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    };
    assert!(eventually(30, send).await, "the webhook is taken");
    // The worker's `process` span ends after the summary is published, maybe in a later export.
    let spans = otlp
        .wait_for(10, |spans| {
            [
                "POST /webhooks/shopify",
                "process product.updated",
                "sync.run",
            ]
            .iter()
            .all(|name| spans.iter().any(|s| s.name == *name))
        })
        .await;
    assert!(terminate(&mut run).await.success());

    let webhook = spans
        .iter()
        .find(|s| s.name == "POST /webhooks/shopify")
        .expect("a span for the webhook");
    assert_eq!(webhook.kind, SpanKind::Server);
    assert_eq!(webhook.service, "catalog-sync-worker");
    assert_eq!(webhook.attr("webhook.source"), Some("shopify"));
    assert_eq!(webhook.attr("webhook.outcome"), Some("published"));
    assert_eq!(webhook.attr("product_id"), Some("7"));
    let trace = Trace::of(&spans, &webhook.trace_id);
    let publish = trace.the("publish product.updated");
    assert_eq!(publish.parent_span_id, webhook.span_id);
    let received = trace.the("process product.updated");
    assert_eq!(
        received.parent_span_id, publish.span_id,
        "the worker continues the webhook's trace"
    );
    let run_span = trace.the("sync.run");
    assert!(trace.descends(run_span, received));
    assert!(trace.descends(trace.the("upstream.product"), run_span));
}
