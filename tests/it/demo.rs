//! `scripts/demo` as a person runs it, against the already-built binary (CATALOG_SYNC_BIN), a
//! database of the test, and ports and a state directory of its own. Every demo is bounded by a
//! timeout, and a guard runs `scripts/demo --stop` on the way out, so nothing outlives a test.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::support::process::BIN;
use crate::support::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo");

/// A demo's surroundings: its state directory (XDG_RUNTIME_DIR), database and ports.
struct Demo {
    runtime: tempfile::TempDir,
    database_url: String,
}

impl Demo {
    fn new(pool: &PgPool) -> Demo {
        Demo {
            runtime: tempfile::tempdir().expect("a runtime dir"),
            database_url: database_url(pool),
        }
    }

    fn state(&self) -> std::path::PathBuf {
        self.runtime.path().join("catalog-sync-demo")
    }

    /// `scripts/demo ARGS` with the upstream at `api_url`, on ports of its own.
    fn command(&self, args: &[&str], api_url: &str, extra: &[(&str, &str)]) -> Command {
        let mut command = Command::new(SCRIPT);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("CATALOG_SYNC_BIN", BIN)
            .env("DATABASE_URL", &self.database_url)
            .env("SYNC_API_URL", api_url)
            .env("DEMO_NATS_PORT", free_port().to_string())
            .env("METRICS_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("DEMO_TIMEOUT", "2m")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Ok(nats) = std::env::var("NATS_SERVER_BIN") {
            command.env("NATS_SERVER_BIN", nats);
        }
        command.envs(extra.iter().copied());
        command
    }

    /// Runs `scripts/demo --stop`, bounded.
    async fn stop(&self) -> Output {
        let output = self
            .command(&["--stop"], "http://127.0.0.1:1/products", &[])
            .output();
        tokio::time::timeout(Duration::from_secs(120), output)
            .await
            .expect("scripts/demo --stop ends within 2 minutes")
            .expect("scripts/demo runs")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // Whatever a failed test left running: the demo's own stop, synchronously.
        let _ = std::process::Command::new(SCRIPT)
            .arg("--stop")
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs a demo to its end within `seconds`.
async fn finished(command: &mut Command, seconds: u64) -> Output {
    tokio::time::timeout(Duration::from_secs(seconds), command.output())
        .await
        .unwrap_or_else(|_| panic!("the demo ends within {seconds} s"))
        .expect("scripts/demo runs")
}

/// Starts a demo and returns it once its stderr says `line`, with a task that collects the rest
/// of its stderr (so the demo never blocks on a full pipe).
async fn started_until(
    command: &mut Command,
    line: &str,
) -> (Child, tokio::task::JoinHandle<String>) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scripts/demo starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(next)) = lines.next_line().await {
            seen.push_str(&next);
            seen.push('\n');
            if next.contains(line) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(found, Ok(true)), "no {line:?} in:\n{seen}");
    let rest = tokio::spawn(async move {
        while let Ok(Some(next)) = lines.next_line().await {
            seen.push_str(&next);
            seen.push('\n');
        }
        seen
    });
    (child, rest)
}

/// An upstream that takes connections and never answers: a sync that waits.
fn silent_upstream() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}/products", listener.local_addr().unwrap());
    (listener, url)
}

/// The demo's pid file: "pid name" lines.
fn recorded(state: &Path) -> Vec<(i32, String)> {
    std::fs::read_to_string(state.join("pids"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(pid, name)| (pid.parse().unwrap(), name.to_owned()))
        .collect()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[sqlx::test]
async fn a_second_demo_refuses_while_one_runs_and_stop_ends_the_first(pool: PgPool) {
    let demo = Demo::new(&pool);
    let (_upstream, url) = silent_upstream();
    let slow = [("SYNC_REQUEST_TIMEOUT", "10m")];
    let (mut first, _) = started_until(
        &mut demo.command(&[], &url, &slow),
        "catalog-sync request --wait",
    )
    .await;
    let first_pid = first.id().unwrap();

    let second = finished(&mut demo.command(&[], &url, &slow), 60).await;
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("another demo runs (scripts/demo, pid {first_pid}"))
            && said.contains("scripts/demo --stop"),
        "{said}"
    );
    let services = recorded(&demo.state());
    assert!(services.iter().all(|(pid, _)| alive(*pid)), "{services:?}");

    let stop = demo.stop().await;
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let ended = tokio::time::timeout(Duration::from_secs(60), first.wait())
        .await
        .expect("the first demo ends once stopped")
        .unwrap();
    assert!(!ended.success());
    for (pid, name) in services {
        assert!(!alive(pid), "{name} (pid {pid}) was stopped");
    }
}

#[sqlx::test]
async fn a_background_process_that_dies_ends_the_demo_with_its_name(pool: PgPool) {
    let demo = Demo::new(&pool);
    let (_upstream, url) = silent_upstream();
    let (running, stderr) = started_until(
        &mut demo.command(&[], &url, &[("SYNC_REQUEST_TIMEOUT", "10m")]),
        "catalog-sync request --wait",
    )
    .await;
    let (nats, _) = recorded(&demo.state())
        .into_iter()
        .find(|(_, name)| name == "nats-server")
        .expect("nats-server is recorded");
    // SAFETY: killing the nats-server this test's demo started.
    unsafe { libc::kill(nats, libc::SIGKILL) };

    let output = tokio::time::timeout(Duration::from_secs(60), running.wait_with_output())
        .await
        .expect("the demo ends once nats-server is gone")
        .unwrap();
    let said = stderr.await.unwrap();
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("nats-server (pid {nats}) exited; the demo stops")),
        "{said}"
    );
    for (pid, name) in recorded(&demo.state()) {
        assert!(!alive(pid), "{name} (pid {pid}) was stopped");
    }
}

#[sqlx::test]
async fn a_sync_that_fails_fails_the_demo_with_its_error(pool: PgPool) {
    let demo = Demo::new(&pool);
    let url = format!("http://127.0.0.1:{}/products", free_port());
    let output = finished(
        &mut demo.command(&[], &url, &[("SYNC_MAX_RETRIES", "0")]),
        180,
    )
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("failed"), "the summary: {stdout}");
    assert!(stderr.contains("the sync did not succeed"), "{stderr}");
    assert!(!stderr.contains("==> done"), "{stderr}");
}

#[sqlx::test]
async fn the_demo_prints_warnings_only_and_its_services_log_to_its_state_dir(pool: PgPool) {
    let demo = Demo::new(&pool);
    let sim = simulator(50).await;
    let url = sim.url().to_string();
    // At a terminal, as a person runs it (script(1) gives it one).
    let command = demo.command(&[], &url, &[]);
    let program = command.as_std().get_program().to_owned();
    let mut at_terminal = Command::new("script");
    at_terminal
        .args(["-qefc", program.to_str().unwrap(), "/dev/null"])
        .env_clear()
        .envs(
            command
                .as_std()
                .get_envs()
                .filter_map(|(k, v)| Some((k, v?))),
        )
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = finished(&mut at_terminal, 180).await;
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("status     succeeded"), "{shown}");
    assert!(!shown.contains(" INFO "), "no info lines:\n{shown}");
    let worker_log = std::fs::read_to_string(demo.state().join("worker.log")).unwrap();
    assert!(worker_log.contains(" INFO "), "{worker_log}");
}
