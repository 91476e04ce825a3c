//! `catalog-sync ingress`: the webhook receiver on its own, and its flags (also part of `run`).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::args::{NatsArgs, TopologyArgs};
use super::worker::MetricsArgs;
use crate::app;
use crate::ingress::{ConfigError, IngressSettings, Secrets, Sender};
use crate::settings::Secret;

/// Where webhooks arrive and the secrets that sign them. A sender's route exists only while
/// its secret is set.
#[derive(Args, Debug, Clone)]
pub struct IngressArgs {
    /// Address of the webhook routes (/webhooks/shopify, /webhooks/woocommerce,
    /// /webhooks/standard). Loopback by default: put a TLS-terminating proxy in front, or
    /// 0.0.0.0:8088 in a container.
    #[arg(
        long,
        env = "INGRESS_LISTEN",
        value_name = "INGRESS_LISTEN",
        default_value = "127.0.0.1:8088"
    )]
    pub ingress_listen: SocketAddr,

    /// Shopify webhooks' signing secret (the app's client secret); several, comma-separated,
    /// are valid at once during a rotation. Enables POST /webhooks/shopify.
    #[arg(
        long,
        env = "SHOPIFY_WEBHOOK_SECRET",
        value_name = "SHOPIFY_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub shopify_webhook_secret: Option<Secret>,

    /// WooCommerce webhooks' secret (Settings > Advanced > Webhooks > Secret); several,
    /// comma-separated, during a rotation. Enables POST /webhooks/woocommerce.
    #[arg(
        long,
        env = "WOOCOMMERCE_WEBHOOK_SECRET",
        value_name = "WOOCOMMERCE_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub woocommerce_webhook_secret: Option<Secret>,

    /// Standard Webhooks secret (whsec_ and the key in base64); several, comma-separated,
    /// during a rotation. Enables POST /webhooks/standard.
    #[arg(
        long,
        env = "STANDARD_WEBHOOK_SECRET",
        value_name = "STANDARD_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub standard_webhook_secret: Option<Secret>,

    /// Largest webhook body accepted (413 above it, refused before it is read). Default: the
    /// NATS server's max_payload less 1 KiB for the event around it.
    #[arg(long, env = "INGRESS_MAX_BODY_BYTES", value_name = "INGRESS_MAX_BODY_BYTES", value_parser = clap::value_parser!(u64).range(1024..=64 * 1024 * 1024))]
    pub ingress_max_body_bytes: Option<u64>,
}

impl IngressArgs {
    /// The ingress's settings; `None` when no secret is set (no route to serve).
    pub fn settings(&self) -> Result<Option<IngressSettings>, ConfigError> {
        let secrets = |sender: Sender, value: &Option<Secret>| {
            let variable = sender.secret_variable();
            value
                .as_ref()
                .map(|v| match sender {
                    Sender::Standard => Secrets::standard(variable, v.expose()),
                    Sender::Shopify | Sender::WooCommerce => Secrets::plain(variable, v.expose()),
                })
                .transpose()
                .map_err(ConfigError)
        };
        let settings = IngressSettings {
            listen: self.ingress_listen,
            shopify: secrets(Sender::Shopify, &self.shopify_webhook_secret)?,
            woocommerce: secrets(Sender::WooCommerce, &self.woocommerce_webhook_secret)?,
            standard: secrets(Sender::Standard, &self.standard_webhook_secret)?,
            max_body_bytes: self.ingress_max_body_bytes.map(|b| b as usize),
        };
        Ok((!settings.senders().is_empty()).then_some(settings))
    }
}

#[derive(Args, Debug)]
pub struct IngressCommand {
    #[command(flatten)]
    pub ingress: IngressArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
}

pub async fn run(command: IngressCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let settings = command.ingress.settings()?.ok_or_else(|| {
        ConfigError(format!(
            "no webhook secret is set: set {}, {} or {}",
            Sender::Shopify.secret_variable(),
            Sender::WooCommerce.secret_variable(),
            Sender::Standard.secret_variable()
        ))
    })?;
    app::ingress(
        &command.nats.settings(),
        &command.topology.settings(),
        settings,
        command.metrics.metrics_listen,
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
