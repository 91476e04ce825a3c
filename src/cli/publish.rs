//! `catalog-sync publish-update`: publishes `product.updated` events.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::args::{NatsArgs, TopologyArgs};
use super::print::outln;
use crate::bus;
use crate::messages::ProductUpdated;
use crate::telemetry::TraceContext;

#[derive(Args, Debug)]
pub struct PublishUpdateCommand {
    /// Upstream ids of the changed products.
    #[arg(required = true, value_name = "ID", value_parser = super::sync::parse_product_id)]
    pub ids: Vec<String>,

    /// The products are gone upstream: archive them.
    #[arg(long, conflicts_with = "product_file")]
    pub deleted: bool,

    /// A JSON file with the whole product object (as the upstream serves it) to carry in the
    /// event, so the worker applies it without asking the upstream. Takes exactly one id. Its
    /// version is --updated-at, else its own `meta.updatedAt`; without either the worker fetches
    /// the product instead.
    #[arg(long, value_name = "FILE")]
    pub product_file: Option<PathBuf>,

    /// The events' version: when the products changed upstream (RFC 3339). Leave it out unless
    /// it is the upstream's own update time: an event stamped later than the upstream's
    /// `meta.updatedAt` would keep later full syncs from writing the product until the upstream
    /// catches up.
    #[arg(long, value_name = "TIME")]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,

    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
}

pub async fn run(command: PublishUpdateCommand) -> anyhow::Result<ExitCode> {
    let product = match &command.product_file {
        Some(path) => {
            anyhow::ensure!(
                command.ids.len() == 1,
                "--product-file takes exactly one product id"
            );
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let value: Box<serde_json::value::RawValue> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            Some(value)
        }
        None => None,
    };
    let client = bus::connect(&command.nats.settings(), "catalog-sync publish-update").await?;
    let js = async_nats::jetstream::new(client);
    for id in &command.ids {
        let event = ProductUpdated {
            product_id: id.clone(),
            updated_at: command.updated_at,
            deleted: command.deleted,
            product: product.clone(),
        };
        let ack = bus::publish(
            &js,
            &command.topology.updated_subject,
            async_nats::HeaderMap::new(),
            event.encode(),
            &TraceContext::new(),
        )
        .await?;
        outln!(
            "published product.updated for {id} (sequence {})",
            ack.sequence
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
