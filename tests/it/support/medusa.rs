//! A real Medusa v2 server for the tests of the Medusa sink, started by `scripts/medusa` on its
//! own database (a copy of a migrated template, so about 5 s per server), a reverse proxy in
//! front of it that counts requests, can go down, hold writes back before Medusa sees them or
//! hold Medusa's answers back, and says what it has in flight; an admin client that reads the
//! store back field by field; and the simulator serving the real DummyJSON catalog.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog_sync_simulator::{Simulator, SimulatorConfig};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::simulator_with;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/medusa");
const DUMMYJSON_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/dummyjson-products.json"
);

/// Each server takes about 450 MB and a core while it starts: more than three at once in one
/// test process only makes every test slower (and the machine may run out of memory).
static SERVERS: Semaphore = Semaphore::const_new(3);

/// The simulator serving the real DummyJSON catalog (194 products) from the test fixture.
pub async fn dummyjson_simulator() -> Simulator {
    simulator_with(SimulatorConfig {
        products_file: Some(PathBuf::from(DUMMYJSON_FIXTURE)),
        ..SimulatorConfig::default()
    })
    .await
}

/// A Medusa server on a free loopback port with its own database, stopped and its database
/// dropped on drop.
pub struct MedusaServer {
    /// `scripts/medusa`'s state (pid, env, API key, server log); the server runs from it.
    dir: tempfile::TempDir,
    db: String,
    url: String,
    api_key: String,
    sales_channel_id: String,
    _permit: SemaphorePermit<'static>,
}

impl MedusaServer {
    /// Starts a server on a new database `medusa_it_<random>`, waiting for a free slot first.
    pub async fn start() -> MedusaServer {
        super::init();
        let permit = SERVERS
            .acquire()
            .await
            .expect("the server semaphore is never closed");
        let dir = tempfile::tempdir().expect("temp dir for scripts/medusa");
        let db = format!(
            "medusa_it_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let env = match run_start(&dir, &db, None).await {
            Ok(env) => env,
            Err(failure) => {
                stop_and_drop(dir.path(), &db);
                panic!("{failure}");
            }
        };
        MedusaServer {
            dir,
            db,
            url: env_value(&env, "MEDUSA_URL"),
            api_key: env_value(&env, "MEDUSA_API_KEY"),
            sales_channel_id: env_value(&env, "MEDUSA_SALES_CHANNEL_ID"),
            _permit: permit,
        }
    }

    /// Stops the server and keeps its database, for outage tests; see [`Self::start_again`].
    pub async fn stop(&mut self) {
        let output = script(&["stop", "--dir", self.dir_arg()])
            .output()
            .await
            .expect("scripts/medusa stop runs");
        assert!(
            output.status.success(),
            "scripts/medusa stop: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts the server again after [`Self::stop`], on the same database and port, with the
    /// same API key, so clients need no new settings.
    pub async fn start_again(&mut self) {
        let port = reqwest::Url::parse(&self.url)
            .expect("MEDUSA_URL is a URL")
            .port()
            .expect("MEDUSA_URL has a port");
        let env = run_start(&self.dir, &self.db, Some(port))
            .await
            .unwrap_or_else(|failure| panic!("{failure}"));
        assert_eq!(env_value(&env, "MEDUSA_URL"), self.url, "same address");
        assert_eq!(env_value(&env, "MEDUSA_API_KEY"), self.api_key, "same key");
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The secret API key (`sk_…`), the user name of HTTP Basic auth with an empty password.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The store's default sales channel, which products must be in to be sold.
    pub fn sales_channel_id(&self) -> &str {
        &self.sales_channel_id
    }

    pub fn db(&self) -> &str {
        &self.db
    }

    /// An admin client talking to the server directly, not through a proxy.
    pub fn admin(&self) -> MedusaAdmin {
        MedusaAdmin::new(&self.url, &self.api_key)
    }

    /// `catalog-sync ARGS` run the way the README shows, in a shell that first ran
    /// `eval "$(scripts/medusa start --dir DIR)"` on this server's DIR (which prints the
    /// running server's settings again). Only PATH and HOME of the test's environment are kept.
    pub fn after_eval_start(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("bash");
        command
            .args([
                "-c",
                r#"eval "$("$0" start --dir "$1")" && shift && exec "$@""#,
                SCRIPT,
                self.dir_arg(),
                super::process::BIN,
            ])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .kill_on_drop(true);
        command
    }

    fn dir_arg(&self) -> &str {
        self.dir.path().to_str().expect("temp dir path is UTF-8")
    }
}

impl Drop for MedusaServer {
    fn drop(&mut self) {
        stop_and_drop(self.dir.path(), &self.db);
    }
}

/// Stops the server run from `dir`, if any, and drops database `db`. Synchronous, as drop must
/// be (about 2 s); failures are only reported, as a drop cannot fail.
fn stop_and_drop(dir: &Path, db: &str) {
    let dir = dir.to_str().expect("temp dir path is UTF-8");
    let stopped = std::process::Command::new(SCRIPT)
        .args(["stop", "--drop", "--db", db, "--dir", dir])
        .stdout(std::process::Stdio::null())
        .output();
    match stopped {
        Ok(output) if output.status.success() => {}
        Ok(output) => eprintln!(
            "scripts/medusa stop --drop (database {db}): {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => eprintln!("scripts/medusa stop --drop (database {db}): {e}"),
    }
}

fn script(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(SCRIPT);
    command.args(args).kill_on_drop(true);
    command
}

/// Runs `scripts/medusa start` and returns the variables of the `export KEY='value'` lines it
/// prints. Bounded: a first start may build the template (20 s) or wait for another test's
/// build.
async fn run_start(
    dir: &tempfile::TempDir,
    db: &str,
    port: Option<u16>,
) -> Result<HashMap<String, String>, String> {
    let dir = dir.path().to_str().expect("temp dir path is UTF-8");
    let port = port.map(|p| p.to_string());
    let mut args = vec!["start", "--dir", dir, "--db", db];
    if let Some(port) = &port {
        args.extend(["--port", port.as_str()]);
    }
    let output = tokio::time::timeout(Duration::from_secs(300), script(&args).output())
        .await
        .map_err(|_| format!("scripts/medusa {args:?} did not end within 5 minutes"))?
        .map_err(|e| format!("scripts/medusa {args:?} does not run: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("scripts/medusa {args:?} failed:\n{stderr}"));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            exported(line).ok_or_else(|| {
                format!("scripts/medusa {args:?} printed a line that is not an export: {line:?}")
            })
        })
        .collect()
}

/// The variable an `export NAME='value'` line sets (a `'` in the value is written `'\''`).
fn exported(line: &str) -> Option<(String, String)> {
    let (name, quoted) = line.strip_prefix("export ")?.split_once('=')?;
    let value = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    Some((name.to_owned(), value.replace("'\\''", "'")))
}

fn env_value(env: &HashMap<String, String>, key: &str) -> String {
    env.get(key)
        .unwrap_or_else(|| panic!("scripts/medusa start printed no {key}: {env:?}"))
        .clone()
}

/// Requests the proxy received, by method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyRequests {
    pub get: u64,
    pub post: u64,
    pub delete: u64,
    /// Every request, whatever its method.
    pub total: u64,
}

/// Requests the proxy is working on, by where they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InFlight {
    /// Writes waiting to be let through to Medusa (see [`MedusaProxy::hold_writes`]).
    pub held: u64,
    /// Requests Medusa has not answered yet.
    pub at_medusa: u64,
    /// Answers to writes held back after Medusa gave them (see [`MedusaProxy::set_delay`]).
    pub delayed: u64,
}

impl InFlight {
    fn count(&mut self, stage: Stage) -> &mut u64 {
        match stage {
            Stage::Held => &mut self.held,
            Stage::AtMedusa => &mut self.at_medusa,
            Stage::Delayed => &mut self.delayed,
        }
    }
}

#[derive(Clone, Copy)]
enum Stage {
    Held,
    AtMedusa,
    Delayed,
}

/// Counts a request in a stage for as long as it lives, even when its connection is cut and
/// its handler dropped.
struct InStage<'a> {
    shared: &'a ProxyShared,
    stage: Stage,
}

impl<'a> InStage<'a> {
    fn enter(shared: &'a ProxyShared, stage: Stage) -> InStage<'a> {
        *shared.in_flight.lock().expect("proxy stages").count(stage) += 1;
        InStage { shared, stage }
    }
}

impl Drop for InStage<'_> {
    fn drop(&mut self) {
        *self
            .shared
            .in_flight
            .lock()
            .expect("proxy stages")
            .count(self.stage) -= 1;
    }
}

/// What the proxy's handlers share across its up and down periods.
struct ProxyShared {
    /// Without a connection pool: each request opens its own connection to Medusa, as a reverse
    /// proxy without upstream keep-alive does, so a restarted Medusa needs no stale connection
    /// to fail first.
    client: reqwest::Client,
    target: String,
    requests: Mutex<ProxyRequests>,
    delay: Mutex<Duration>,
    /// While true, writes wait before they reach Medusa.
    hold: tokio::sync::watch::Sender<bool>,
    in_flight: Mutex<InFlight>,
}

/// A reverse proxy on 127.0.0.1 in front of a Medusa server. Down, it listens on nothing (a
/// client gets connection refused) and every connection it had is cut, as when the server
/// crashes; up again, it listens on the same port.
pub struct MedusaProxy {
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    /// `None` while down.
    serving: Option<Serving>,
}

/// One up period: the server task and the token that cuts its connections.
struct Serving {
    cut: CancellationToken,
    task: JoinHandle<()>,
}

impl MedusaProxy {
    /// A proxy to `target` (`http://host:port`) on a free port.
    pub async fn start(target: &str) -> MedusaProxy {
        let shared = Arc::new(ProxyShared {
            client: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(120))
                .build()
                .expect("proxy HTTP client"),
            target: target.trim_end_matches('/').to_owned(),
            requests: Mutex::new(ProxyRequests::default()),
            delay: Mutex::new(Duration::ZERO),
            hold: tokio::sync::watch::Sender::new(false),
            in_flight: Mutex::new(InFlight::default()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let serving = Some(serve(listener, Arc::clone(&shared)));
        MedusaProxy {
            addr,
            shared,
            serving,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> ProxyRequests {
        *self.shared.requests.lock().expect("proxy counts")
    }

    pub fn reset(&self) {
        *self.shared.requests.lock().expect("proxy counts") = ProxyRequests::default();
    }

    /// Holds every answer to a write back for `delay` after Medusa gave it: the request has taken effect
    /// in Medusa when a client that gives up sooner sees its timeout.
    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock().expect("proxy delay") = delay;
    }

    /// Holds every write (anything but a GET) back before Medusa sees it, until called again
    /// with `false`: a Medusa that takes as long as a test wants to answer. Reads go through.
    pub fn hold_writes(&self, hold: bool) {
        self.shared.hold.send_replace(hold);
    }

    /// What the proxy is working on now.
    pub fn in_flight(&self) -> InFlight {
        *self.shared.in_flight.lock().expect("proxy stages")
    }

    /// Waits (up to a minute) until the proxy has nothing in flight: every request it received
    /// has been answered, so whatever Medusa was asked to do is done.
    pub async fn wait_until_idle(&self) {
        let idle =
            super::eventually(60, || async { self.in_flight() == InFlight::default() }).await;
        assert!(
            idle,
            "the proxy still has {:?} after a minute",
            self.in_flight()
        );
    }

    /// Down: stops listening and cuts every connection, idle or in flight (the client of an
    /// in-flight request gets no answer, whether Medusa carried it out or not). Up: listens on
    /// the same port again.
    pub async fn set_down(&mut self, down: bool) {
        match (down, self.serving.take()) {
            (true, Some(serving)) => serving.stop().await,
            (false, None) => {
                self.serving = Some(serve(self.rebind().await, Arc::clone(&self.shared)))
            }
            (_, serving) => self.serving = serving,
        }
    }

    /// The proxy's port again; retried briefly in case the kernel has not released it yet.
    async fn rebind(&self) -> TcpListener {
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                return listener;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the proxy cannot listen on {} again", self.addr);
    }
}

impl Drop for MedusaProxy {
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.cut.cancel();
            serving.task.abort();
        }
    }
}

impl Serving {
    /// Cuts the connections and waits until the listener is closed.
    async fn stop(self) {
        self.cut.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the proxy stops within 10 s of being cut")
            .expect("the proxy task ends cleanly");
    }
}

fn serve(listener: TcpListener, shared: Arc<ProxyShared>) -> Serving {
    let cut = CancellationToken::new();
    let router = axum::Router::new()
        .fallback(forward)
        .with_state((shared, cut.clone()));
    let listener = CutListener {
        listener,
        cut: cut.clone(),
    };
    let serve = axum::serve(listener, router).with_graceful_shutdown(cut.clone().cancelled_owned());
    let task = tokio::spawn(async move {
        serve.await.expect("the proxy serves");
    });
    Serving { cut, task }
}

/// Headers that belong to one connection, not to the message, so a proxy does not pass them
/// on; `host` and `content-length` are set anew for the next hop.
const HOP_BY_HOP: [header::HeaderName; 7] = [
    header::CONNECTION,
    header::HOST,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

async fn forward(
    State((shared, cut)): State<(Arc<ProxyShared>, CancellationToken)>,
    request: Request,
) -> Response {
    count(&shared, request.method());
    tokio::select! {
        response = forward_and_wait(&shared, request) => response,
        // The connection is cut: this answer is never written.
        () = cut.cancelled() => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn count(shared: &ProxyShared, method: &axum::http::Method) {
    let mut requests = shared.requests.lock().expect("proxy counts");
    requests.total += 1;
    match *method {
        axum::http::Method::GET => requests.get += 1,
        axum::http::Method::POST => requests.post += 1,
        axum::http::Method::DELETE => requests.delete += 1,
        _ => {}
    }
}

/// Forwards the request, a write once writes are no longer held; then holds the answer to a
/// write back for the delay set (reads are answered at once, so a client's lookups still work
/// while its writes wait or time out).
async fn forward_and_wait(shared: &ProxyShared, request: Request) -> Response {
    let write = request.method() != axum::http::Method::GET;
    if write {
        let _held = InStage::enter(shared, Stage::Held);
        let mut hold = shared.hold.subscribe();
        // The sender lives as long as `shared`: the wait ends when writes are let through.
        let _ = hold.wait_for(|held| !*held).await;
    }
    let response = {
        let _at_medusa = InStage::enter(shared, Stage::AtMedusa);
        forward_to_medusa(shared, request).await
    };
    if write {
        let delay = *shared.delay.lock().expect("proxy delay");
        let _delayed = InStage::enter(shared, Stage::Delayed);
        tokio::time::sleep(delay).await;
    }
    response
}

async fn forward_to_medusa(shared: &ProxyShared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("proxy: reading the body: {e}"),
            )
                .into_response();
        }
    };
    let sent = shared
        .client
        .request(parts.method, format!("{}{path}", shared.target))
        .headers(end_to_end(parts.headers))
        .body(body)
        .send()
        .await;
    match answer(sent).await {
        Ok((status, headers, body)) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = end_to_end(headers);
            response
        }
        // As a reverse proxy answers when its upstream is down or fails mid-answer.
        Err(e) => (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    }
}

async fn answer(
    sent: reqwest::Result<reqwest::Response>,
) -> reqwest::Result<(StatusCode, HeaderMap, Bytes)> {
    let response = sent?;
    let status = response.status();
    let headers = response.headers().clone();
    Ok((status, headers, response.bytes().await?))
}

fn end_to_end(mut headers: HeaderMap) -> HeaderMap {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers
}

/// The proxy's listener: every connection it accepts in an up period ends when that period's
/// token is cancelled.
struct CutListener {
    listener: TcpListener,
    cut: CancellationToken,
}

impl axum::serve::Listener for CutListener {
    type Io = CutStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CutStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => {
                    let cut = Box::pin(self.cut.clone().cancelled_owned());
                    return (CutStream { stream, cut }, addr);
                }
                // Out of file descriptors, say: axum's own listener waits a little too.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection whose reads and writes fail once it is cut, so the HTTP server drops it (and
/// closes the socket) even while idle between requests.
struct CutStream {
    stream: TcpStream,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl CutStream {
    /// Also registers the task to be woken when the cut comes.
    fn check(&mut self, cx: &mut Context<'_>) -> std::io::Result<()> {
        match self.cut.as_mut().poll(cx) {
            Poll::Ready(()) => Err(std::io::ErrorKind::ConnectionReset.into()),
            Poll::Pending => Ok(()),
        }
    }
}

impl AsyncRead for CutStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The fields of a product that `MedusaAdmin::products` asks for (Medusa v2's `fields`
/// syntax: relation fields as `relation.field`).
const PRODUCT_FIELDS: &str = "id,external_id,handle,title,description,status,thumbnail,updated_at,\
metadata,variants.id,variants.sku,variants.title,variants.barcode,variants.options.value,\
variants.options.option.title,variants.prices.currency_code,variants.prices.amount,\
options.title,options.values.value,categories.handle,categories.name,tags.value,\
sales_channels.id,images.url";

/// A live product as Medusa's admin API gives it back.
#[derive(Clone, Debug, Deserialize)]
pub struct MedusaProduct {
    pub id: String,
    pub external_id: Option<String>,
    pub handle: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub thumbnail: Option<String>,
    pub updated_at: String,
    /// `null` or an object.
    pub metadata: Value,
    pub variants: Vec<MedusaVariant>,
    pub options: Vec<MedusaOption>,
    pub categories: Vec<MedusaCategory>,
    pub tags: Vec<MedusaTag>,
    pub sales_channels: Vec<MedusaSalesChannel>,
    pub images: Vec<MedusaImage>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaVariant {
    pub id: String,
    pub sku: Option<String>,
    pub title: String,
    pub barcode: Option<String>,
    pub options: Vec<MedusaVariantValue>,
    pub prices: Vec<MedusaPrice>,
}

impl MedusaVariant {
    /// Option title to value.
    pub fn option_map(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .map(|o| (o.option.title.clone(), o.value.clone()))
            .collect()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaVariantValue {
    pub value: String,
    pub option: MedusaOptionTitle,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaOptionTitle {
    pub title: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaOption {
    pub title: String,
    pub values: Vec<MedusaValue>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaValue {
    pub value: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaPrice {
    pub currency_code: String,
    /// The amount's JSON text as Medusa wrote it (major units, e.g. `9.99`), not a float that
    /// may print differently.
    #[serde(deserialize_with = "json_text")]
    pub amount: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaCategory {
    pub handle: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaTag {
    pub value: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaSalesChannel {
    pub id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MedusaImage {
    pub url: String,
}

fn json_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
    Ok(raw.get().to_owned())
}

#[derive(Deserialize)]
struct ProductPage {
    products: Vec<MedusaProduct>,
    count: usize,
}

#[derive(Deserialize)]
struct CountOnly {
    count: usize,
}

/// Medusa's admin API with a secret API key, for tests to read the store back (or to write to
/// it as someone else would).
#[derive(Clone)]
pub struct MedusaAdmin {
    client: reqwest::Client,
    url: String,
    api_key: String,
    page_size: usize,
}

impl MedusaAdmin {
    /// A client of the admin API at `url` (a server's or a proxy's).
    pub fn new(url: &str, api_key: &str) -> MedusaAdmin {
        MedusaAdmin {
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("admin HTTP client"),
            url: url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            page_size: 100,
        }
    }

    /// Pages of `size` products in [`Self::products`] (100 unless set).
    pub fn with_page_size(mut self, size: usize) -> MedusaAdmin {
        self.page_size = size;
        self
    }

    /// `GET {url}{path}`, `path` with its query.
    pub async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .get(format!("{}{path}", self.url))
            .basic_auth(&self.api_key, Some(""))
            .send()
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(format!("{}{path}", self.url))
            .basic_auth(&self.api_key, Some(""))
            .json(body)
            .send()
            .await
    }

    /// `POST {path}` that must answer 200; its JSON answer.
    pub async fn post_ok(&self, path: &str, body: &Value) -> Value {
        let what = format!("POST {path}");
        let response = self.post(path, body).await.expect("POST reaches Medusa");
        parse(&what, &ok_text(response, &what).await)
    }

    /// `GET {path}` that must answer 200; its JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get_ok(path).await
    }

    /// `DELETE {path}` that must answer 200 (Medusa's soft delete).
    pub async fn delete_ok(&self, path: &str) {
        let what = format!("DELETE {path}");
        let response = self
            .client
            .delete(format!("{}{path}", self.url))
            .basic_auth(&self.api_key, Some(""))
            .send()
            .await
            .expect("DELETE reaches Medusa");
        ok_text(response, &what).await;
    }

    /// Every live product (deleted ones are left out), all pages, oldest first.
    pub async fn products(&self) -> Vec<MedusaProduct> {
        let mut products = Vec::new();
        loop {
            let path = format!(
                "/admin/products?order=id&limit={}&offset={}&fields={PRODUCT_FIELDS}",
                self.page_size,
                products.len()
            );
            let page: ProductPage = self.get_ok(&path).await;
            let last =
                page.products.is_empty() || products.len() + page.products.len() >= page.count;
            products.extend(page.products);
            if last {
                return products;
            }
        }
    }

    /// Live products whose `external_id` is `id`: Medusa does not keep it unique.
    pub async fn count_by_external_id(&self, id: &str) -> usize {
        let id = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
        let page: CountOnly = self
            .get_ok(&format!(
                "/admin/products?external_id={id}&fields=id&limit=1"
            ))
            .await;
        page.count
    }

    /// Parsed from the answer's text, not through a `Value`: the amounts keep their text.
    async fn get_ok<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let what = format!("GET {path}");
        let response = self.get(path).await.expect("GET reaches Medusa");
        parse(&what, &ok_text(response, &what).await)
    }
}

async fn ok_text(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("{what}: reading the answer: {e}"));
    assert_eq!(status, StatusCode::OK, "{what}: {text}");
    text
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: unexpected answer ({e}): {text}"))
}
