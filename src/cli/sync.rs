//! `catalog-sync sync`: one run now, from the command line, without the bus.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;
use indicatif::ProgressBar;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::args::EngineArgs;
use super::output;
use super::print::{errln, out, outln};
use crate::engine::{Progress, RunControl, RunOutcome, RunRequest, Target};

#[derive(Args, Debug)]
pub struct SyncCommand {
    #[command(flatten)]
    pub engine: EngineArgs,

    /// Sync only these upstream product ids (comma-separated) instead of the whole catalog.
    #[arg(long, value_delimiter = ',', value_name = "IDS", value_parser = parse_product_id)]
    pub products: Vec<String>,

    /// Sync only the products the source lists as changed since the last succeeded full sync
    /// (the source file needs a [changes] block). Never archives.
    #[arg(long, conflicts_with = "products")]
    pub changes: bool,

    /// Print exactly the run summary as JSON on stdout, nothing else.
    #[arg(long)]
    pub json: bool,

    /// Why this run happens; recorded with the run.
    #[arg(long)]
    pub reason: Option<String>,

    /// Request id of the run (default: a new UUID): 1 to 200 letters, digits and - . _ ~ : @.
    /// Running an interrupted or killed request again resumes it from its checkpoint; a
    /// finished one prints its recorded summary.
    #[arg(long, value_parser = parse_request_id)]
    pub request_id: Option<String>,
}

/// A request id, as the worker accepts one (`check_request_id`).
pub(super) fn parse_request_id(s: &str) -> Result<String, String> {
    crate::messages::check_request_id(s).map_err(|e| e.0)?;
    Ok(s.to_owned())
}

/// An upstream product id, as `check_product_id` accepts it.
pub(super) fn parse_product_id(s: &str) -> Result<String, String> {
    crate::domain::check_product_id(s).map_err(|e| e.to_string())?;
    Ok(s.to_owned())
}

pub async fn run(command: SyncCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let engine = crate::app::engine(&command.engine.settings()).await?;
    let target = if command.changes {
        Target::Changes
    } else if command.products.is_empty() {
        Target::Full
    } else {
        Target::Products(command.products.clone())
    };
    // --dry-run and --force-archive are the engine's settings: it applies them to every run.
    let mut request = RunRequest::new(target);
    request.reason = command.reason.clone();
    if let Some(id) = &command.request_id {
        request.request_id = id.clone();
    }

    let (progress_tx, progress_rx) = watch::channel(Progress::default());
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(show_progress(progress_rx)));
    let control = RunControl {
        cancel: shutdown,
        progress: Some(progress_tx),
    };
    let outcome = engine.run(&request, control).await;
    if let Some(bar) = bar {
        bar.abort();
        let _ = bar.await;
    }
    match outcome? {
        RunOutcome::Finished(summary) | RunOutcome::AlreadyFinished(summary) => {
            if command.json {
                outln!("{}", serde_json::to_string(&summary)?)?;
            } else {
                out!("{}", output::summary_table(&summary))?;
            }
            Ok(output::exit_code(summary.status))
        }
        RunOutcome::Interrupted { run_id } => {
            errln!("run {run_id} interrupted before it finished; nothing was archived");
            Ok(ExitCode::from(130))
        }
    }
}

/// A progress bar on stderr, fed by the engine's progress channel.
async fn show_progress(mut progress: watch::Receiver<Progress>) {
    let bar = ProgressBar::new(0);
    bar.set_style(output::progress_style());
    struct ClearOnDrop(ProgressBar);
    impl Drop for ClearOnDrop {
        fn drop(&mut self) {
            self.0.finish_and_clear();
        }
    }
    let guard = ClearOnDrop(bar);
    while progress.changed().await.is_ok() {
        let now = *progress.borrow_and_update();
        guard.0.set_length(now.total);
        guard.0.set_position(now.processed);
    }
}
