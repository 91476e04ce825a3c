//! The `catalog-sync` binary as a child process, with only the environment a test gives it.

use std::process::Stdio;

use sqlx::PgPool;
use tokio::process::{Child, Command};

use super::database_url;

pub const BIN: &str = env!("CARGO_BIN_EXE_catalog-sync");

/// The environment of the processes a test starts.
pub struct Env {
    pub vars: Vec<(&'static str, String)>,
}

impl Env {
    /// The environment of a `catalog-sync` process against this database, upstream and NATS
    /// (`nats_url`: several servers, comma-separated).
    pub fn with_nats_url(pool: &PgPool, sim_url: &reqwest::Url, nats_url: String) -> Env {
        Env {
            vars: vec![
                ("DATABASE_URL", database_url(pool)),
                ("SYNC_API_URL", sim_url.to_string()),
                ("NATS_URL", nats_url),
                ("SYNC_PAGE_SIZE", "50".into()),
                ("SYNC_BATCH_SIZE", "200".into()),
                ("CONSUMER_ACK_WAIT", "3s".into()),
                ("RUST_LOG", "warn".into()),
                ("METRICS_LISTEN", "127.0.0.1:0".into()),
            ],
        }
    }

    /// This environment plus `vars`.
    pub fn with(&self, vars: &[(&'static str, &str)]) -> Env {
        let mut all: Vec<(&'static str, String)> = self
            .vars
            .iter()
            .filter(|(k, _)| !vars.iter().any(|(name, _)| name == k))
            .cloned()
            .collect();
        all.extend(vars.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Env { vars: all }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.vars.iter().map(|(k, v)| (*k, v.as_str())))
            .kill_on_drop(true);
        command
    }

    /// `catalog-sync sync --json` to its end: its exit code, summary and logs.
    pub async fn sync_json(&self) -> (i32, catalog_sync::domain::RunSummary, String) {
        let output = self
            .command(&["sync", "--json"])
            .output()
            .await
            .expect("catalog-sync runs");
        let summary = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "a summary on stdout ({e}); stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (
            output.status.code().unwrap_or(-1),
            summary,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs `catalog-sync <args>` to its end and checks it succeeded.
    pub async fn run_ok(&self, args: &[&str]) -> std::process::Output {
        let output = self
            .command(args)
            .output()
            .await
            .expect("catalog-sync runs");
        assert!(
            output.status.success(),
            "catalog-sync {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub async fn setup(&self) {
        self.run_ok(&["setup"]).await;
    }

    pub fn worker(&self) -> Child {
        self.command(&["worker"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("worker starts")
    }
}

/// Sends SIGTERM and waits (bounded) for the process to exit.
pub async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().expect("the process runs") as i32;
    // SAFETY: signalling a child process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("the process exits within 30 s of SIGTERM")
        .expect("exit status")
}
