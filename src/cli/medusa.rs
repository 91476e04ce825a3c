//! `catalog-sync medusa disable | enable`: the operator's switch of the Medusa sink for a
//! database. The sink turns itself on the first time a process with MEDUSA_URL runs; from then
//! on every change of a product is queued for Medusa, whichever process writes it, until it is
//! turned off here.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::args::{ArchiveArg, DatabaseArgs};
use super::output::thousands;
use super::print::outln;
use crate::store::Store;

#[derive(Args, Debug)]
pub struct MedusaCommand {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub action: MedusaAction,
}

#[derive(Subcommand, Debug)]
pub enum MedusaAction {
    /// Turn the Medusa sink off for this database: nothing is queued for Medusa any more, the
    /// pushes owed are dropped, and processes with MEDUSA_URL leave Medusa alone until `medusa
    /// enable`. What Medusa has is kept, and so are its links.
    Disable,
    /// Turn the Medusa sink on again: queues every product whose Medusa copy differs from the
    /// catalog (what changed while it was off); a worker with MEDUSA_URL, or the next
    /// `catalog-sync sync` with it, pushes them.
    Enable {
        #[command(flatten)]
        archive: ArchiveArg,
    },
}

pub async fn run(command: MedusaCommand) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&command.database.settings())
        .await
        .context("connecting to DATABASE_URL")?;
    // The switch lives in a column of a later migration than the sink's tables.
    store.migrate().await?;
    match command.action {
        MedusaAction::Disable => {
            let off = store.disable_medusa().await?;
            outln!(
                "Medusa sink off since {}: {} owed pushes dropped; Medusa keeps its {} linked products.",
                stamp(off.since),
                thousands(off.dropped),
                thousands(off.linked.max(0) as u64)
            )?;
            outln!(
                "Nothing is queued for Medusa any more, and processes with MEDUSA_URL leave it alone; `catalog-sync medusa enable` turns the sink on again."
            )?;
        }
        MedusaAction::Enable { archive } => {
            let on = store
                .reenable_medusa(archive.archive().pushed_status())
                .await?;
            let was = match (on.first, on.was_off_since) {
                (true, _) => "it had never been on for this database".to_owned(),
                (false, Some(since)) => format!("it was off since {}", stamp(since)),
                (false, None) => "it was on already".to_owned(),
            };
            outln!(
                "Medusa sink on ({was}): {} products queued for Medusa.",
                thousands(on.queued)
            )?;
            outln!(
                "A worker with MEDUSA_URL pushes them within MEDUSA_RETRY_INTERVAL, or run `catalog-sync sync` with MEDUSA_URL."
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
