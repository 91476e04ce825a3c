//! An OTLP trace receiver for the tests: real OTLP protobuf over HTTP (`POST /v1/traces`) and
//! over gRPC (`TraceService/Export`), decoded with `opentelemetry-proto`, every span kept for the
//! test to inspect.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message as _;
use tokio::net::TcpListener;

/// One received span, with ids as lowercase hex and attribute values as text.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// `http` or `grpc`: how it arrived.
    pub transport: &'static str,
    pub service: String,
    /// The resource's attributes (`service.name`, `deployment.environment`, …).
    pub resource: BTreeMap<String, String>,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub kind: SpanKind,
    pub status: StatusCode,
    pub status_message: String,
    pub attributes: BTreeMap<String, String>,
    pub events: Vec<(String, BTreeMap<String, String>)>,
    /// (trace id, span id) of each link.
    pub links: Vec<(String, String)>,
}

impl ReceivedSpan {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

type Spans = Arc<Mutex<Vec<ReceivedSpan>>>;

/// Both receivers, on free loopback ports, until dropped.
pub struct OtlpReceiver {
    pub http_endpoint: String,
    pub grpc_endpoint: String,
    spans: Spans,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Both receivers on free ports.
    pub async fn start() -> OtlpReceiver {
        OtlpReceiver::start_on("127.0.0.1:0")
            .await
            .expect("a free port")
    }

    /// The HTTP receiver on `http_addr` (the gRPC one on a free port).
    pub async fn start_on(http_addr: &str) -> std::io::Result<OtlpReceiver> {
        let spans = Spans::default();
        let http = TcpListener::bind(http_addr).await?;
        let http_addr = http.local_addr().expect("address");
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(export_http))
            .with_state(spans.clone());
        let http_task = tokio::spawn(async move {
            let _ = axum::serve(http, app).await;
        });
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let grpc_addr: SocketAddr = grpc.local_addr().expect("address");
        let service = TraceServiceServer::new(Grpc(spans.clone()));
        let grpc_task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc))
                .await;
        });
        Ok(OtlpReceiver {
            http_endpoint: format!("http://{http_addr}"),
            grpc_endpoint: format!("http://{grpc_addr}"),
            spans,
            tasks: vec![http_task, grpc_task],
        })
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits up to `seconds` until `done` holds for the spans received, and returns them.
    pub async fn wait_for(
        &self,
        seconds: u64,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn export_http(State(spans): State<Spans>, body: Bytes) -> impl IntoResponse {
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            keep(&spans, "http", request);
            (
                axum::http::StatusCode::OK,
                [(CONTENT_TYPE, "application/x-protobuf")],
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
        }
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
            [(CONTENT_TYPE, "text/plain")],
            format!("not an OTLP trace export: {e}").into_bytes(),
        ),
    }
}

struct Grpc(Spans);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        keep(&self.0, "grpc", request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn keep(spans: &Spans, transport: &'static str, request: ExportTraceServiceRequest) {
    let mut kept = spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let status = span.status.unwrap_or_default();
                kept.push(ReceivedSpan {
                    transport,
                    service: service.clone(),
                    resource: resource.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    status: StatusCode::try_from(status.code).unwrap_or(StatusCode::Unset),
                    status_message: status.message,
                    attributes: attributes(&span.attributes),
                    events: span
                        .events
                        .iter()
                        .map(|e| (e.name.clone(), attributes(&e.attributes)))
                        .collect(),
                    links: span
                        .links
                        .iter()
                        .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                        .collect(),
                });
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}
