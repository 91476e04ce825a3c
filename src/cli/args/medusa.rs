//! `MEDUSA_*`: the Medusa store every run also brings to the catalog's state.

use clap::Args;
use reqwest::Url;

use super::parse;
use crate::settings::{MedusaArchive, MedusaSettings, Secret, UpstreamSettings};

/// The Medusa sink; off unless MEDUSA_URL is set.
#[derive(Args, Debug, Clone)]
pub struct MedusaArgs {
    /// Medusa v2 server (Admin API), e.g. http://127.0.0.1:9000. Set, every run also pushes
    /// what changed in the catalog to Medusa.
    #[arg(
        long,
        env = "MEDUSA_URL",
        value_name = "MEDUSA_URL",
        value_parser = parse::HttpUrlParser,
        requires = "medusa_api_key"
    )]
    pub medusa_url: Option<Url>,

    /// Secret API key (sk_…) of a Medusa admin. Never logged.
    #[arg(
        long,
        env = "MEDUSA_API_KEY",
        value_name = "MEDUSA_API_KEY",
        hide_env_values = true
    )]
    pub medusa_api_key: Option<Secret>,

    /// No longer used: each price goes to Medusa in its own currency (a source file's
    /// `currency`, eur by default). Accepted so that existing deployments keep starting.
    #[arg(
        long,
        env = "MEDUSA_CURRENCY",
        value_name = "MEDUSA_CURRENCY",
        value_parser = parse_currency,
        hide = true
    )]
    pub medusa_currency: Option<String>,

    /// Sales channel id (sc_…) new products join; default: the store's default sales channel.
    #[arg(
        long,
        env = "MEDUSA_SALES_CHANNEL",
        value_name = "MEDUSA_SALES_CHANNEL"
    )]
    pub medusa_sales_channel: Option<String>,

    #[command(flatten)]
    pub archive: ArchiveArg,

    /// Products per Medusa batch request.
    #[arg(
        long,
        env = "MEDUSA_BATCH_SIZE",
        value_name = "MEDUSA_BATCH_SIZE",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..=500)
    )]
    pub medusa_batch_size: u32,

    /// Medusa batch requests in flight at once, and listing pages a full sync's drift check
    /// reads at once.
    #[arg(
        long,
        env = "MEDUSA_CONCURRENCY",
        value_name = "MEDUSA_CONCURRENCY",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=16)
    )]
    pub medusa_concurrency: u32,

    /// How often the worker's pusher pushes what is still owed to Medusa (after an outage,
    /// say), and how long it waits after a failed push.
    #[arg(
        long,
        env = "MEDUSA_RETRY_INTERVAL",
        value_name = "MEDUSA_RETRY_INTERVAL",
        default_value = "30s",
        value_parser = parse::parse_duration
    )]
    pub medusa_retry_interval: std::time::Duration,
}

/// `MEDUSA_ARCHIVE`: what an archived catalog product becomes in Medusa. The workers' setting,
/// and what `medusa enable` decides which archived products are owed a push by.
#[derive(Args, Debug, Clone)]
pub struct ArchiveArg {
    /// What an archived catalog product becomes in Medusa: draft, or delete (Medusa's soft
    /// delete).
    #[arg(
        long,
        env = "MEDUSA_ARCHIVE",
        value_name = "MEDUSA_ARCHIVE",
        default_value = "draft",
        value_parser = ["draft", "delete"]
    )]
    pub medusa_archive: String,
}

impl ArchiveArg {
    pub fn archive(&self) -> MedusaArchive {
        self.medusa_archive
            .parse()
            .expect("clap allows draft and delete only")
    }
}

impl MedusaArgs {
    /// The sink's settings, when MEDUSA_URL is set; timeouts and retries are the upstream's.
    pub fn settings(&self, upstream: &UpstreamSettings) -> Option<MedusaSettings> {
        let url = self.medusa_url.clone()?;
        let api_key = self.medusa_api_key.clone()?;
        Some(MedusaSettings {
            currency: self.medusa_currency.clone(),
            sales_channel: self.medusa_sales_channel.clone(),
            archive: self.archive.archive(),
            batch_size: self.medusa_batch_size as usize,
            concurrency: self.medusa_concurrency as usize,
            retry_interval: self.medusa_retry_interval,
            ..MedusaSettings::new(url, api_key, upstream)
        })
    }
}

/// Three ASCII letters, kept lower-case as Medusa writes currency codes.
fn parse_currency(s: &str) -> Result<String, String> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("an ISO 4217 code of three letters, e.g. eur or usd".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_letters_in_lower_case() {
        assert_eq!(parse_currency("EUR").unwrap(), "eur");
        assert_eq!(parse_currency("usd").unwrap(), "usd");
        assert!(parse_currency("euro").is_err());
        assert!(parse_currency("e1r").is_err());
    }
}
