//! The `catalog-sync-simulator` command line: its arguments and the serve-until-shutdown loop.

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::builder::BoolishValueParser;
use tracing::info;

use super::limits::parse_quota;
use super::{Simulator, SimulatorConfig};

/// Serve a DummyJSON-compatible product API over a synthetic catalog.
///
/// The same catalog is also served as WooCommerce REST v3 (/wc/v3/products), Shopify Admin
/// REST (/admin/api/2024-07/products.json), a cursor style (/cursor/products) and a next-URL
/// style (/next/products); every listing takes a "changed since" filter. With --variants,
/// products come in sizes and colours (WooCommerce: /wc/v3/products/{id}/variations).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct SimulatorArgs {
    /// Number of products in the catalog (ids 1..=N); ignored with --products-file.
    #[arg(long, env = "SIM_PRODUCTS", default_value_t = 194)]
    pub products: u64,

    /// Seed of the generated catalog: the same seed serves the same products.
    #[arg(long, env = "SIM_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Fixed delay before every product answer, in milliseconds.
    #[arg(long, env = "SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Fraction (0 to 1) of product requests answered 500.
    #[arg(long, env = "SIM_ERROR_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub error_rate: f64,

    /// Fraction (0 to 1) of product answers whose body is cut short.
    #[arg(long, env = "SIM_TRUNCATE_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub truncate_rate: f64,

    /// Apply DummyJSON's rate limit: 100 requests per 10 seconds, then 429 with Retry-After.
    #[arg(long, env = "SIM_RATE_LIMIT", value_parser = BoolishValueParser::new())]
    pub rate_limit: bool,

    /// A sliding-window rate limit over all product routes: at most N requests in any
    /// interval of DURATION (e.g. 20/2s, 100/10s, 5/500ms), then 429 with Retry-After.
    #[arg(
        long,
        env = "SIM_RATE_LIMIT_QUOTA",
        value_name = "N/DURATION",
        value_parser = parse_quota
    )]
    pub rate_limit_quota: Option<(u32, Duration)>,

    /// Serve `price` as a string of the number's exact text ("12.5") on the DummyJSON-shaped
    /// routes.
    #[arg(long, env = "SIM_STRING_PRICES", value_parser = BoolishValueParser::new())]
    pub string_prices: bool,

    /// Serve the products of this DummyJSON dump ({"products":[...]} or [...]) instead of
    /// generated ones; the simulator fails to start if it cannot read it.
    #[arg(long, env = "SIM_PRODUCTS_FILE", value_name = "FILE")]
    pub products_file: Option<PathBuf>,

    /// Largest page served, like an API that caps `limit` (unset: no cap).
    #[arg(long, env = "SIM_MAX_LIMIT", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_limit: Option<u64>,

    /// Demand HTTP Basic credentials on the product routes (401 without them); admin routes
    /// stay open. The password may contain ':'; the user may not.
    #[arg(
        long,
        env = "SIM_BASIC_AUTH",
        value_name = "USER:PASSWORD",
        value_parser = parse_credentials,
        hide_env_values = true
    )]
    pub basic_auth: Option<(String, String)>,

    /// Compress product answers with this encoding (gzip, deflate or br) when the request's
    /// Accept-Encoding asks for it
    #[arg(long, env = "SIM_COMPRESS", value_name = "ENCODING")]
    pub compress: Option<crate::Encoding>,

    /// With --compress: compress every product answer, asked or not (like a proxy that
    /// compresses whatever passes)
    #[arg(long, env = "SIM_COMPRESS_ALWAYS", value_parser = BoolishValueParser::new(), requires = "compress")]
    pub compress_always: bool,

    /// Sell products in variants (a size and a colour each), N per product on average
    /// (1 to 2N-1, at most 20), in every shape; 0 sells every product one way.
    #[arg(long, env = "SIM_VARIANTS", value_name = "N", default_value_t = 0)]
    pub variants: u32,

    /// Address to listen on.
    #[arg(long, env = "SIM_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
}

impl SimulatorArgs {
    /// The simulator settings these arguments describe.
    pub fn config(&self) -> SimulatorConfig {
        SimulatorConfig {
            products: self.products,
            seed: self.seed,
            latency: Duration::from_millis(self.latency_ms),
            error_rate: self.error_rate,
            truncate_rate: self.truncate_rate,
            rate_limit: self.rate_limit,
            max_limit: self.max_limit,
            basic_auth: self.basic_auth.clone(),
            rate_limit_quota: self.rate_limit_quota,
            string_prices: self.string_prices,
            products_file: self.products_file.clone(),
            compression: self.compress.map(|encoding| crate::Compression {
                encoding,
                unasked: self.compress_always,
            }),
            variants: self.variants,
        }
    }
}

/// `USER:PASSWORD`, split at the first ':' as HTTP Basic does (RFC 7617).
fn parse_credentials(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((user, password)) => Ok((user.to_owned(), password.to_owned())),
        None => Err(String::from("expected USER:PASSWORD")),
    }
}

/// A fraction between 0 and 1 inclusive.
fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0 and 1"))
    }
}

/// Runs the simulator until `shutdown` resolves. Once bound, logs the URL it serves on and
/// prints exactly one line, `listening on http://ADDR/products`, to stdout for scripts.
pub async fn run(
    args: SimulatorArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let simulator = Simulator::start(args.config(), args.listen)
        .await
        .with_context(|| format!("cannot serve on {}", args.listen))?;
    let url = simulator.url();
    info!(
        %url,
        products = args.products,
        seed = args.seed,
        latency_ms = args.latency_ms,
        error_rate = args.error_rate,
        truncate_rate = args.truncate_rate,
        rate_limit = args.rate_limit,
        rate_limit_quota = ?args.rate_limit_quota,
        string_prices = args.string_prices,
        products_file = ?args.products_file,
        variants = args.variants,
        // Whether credentials are demanded, never what they are.
        basic_auth = args.basic_auth.is_some(),
        "simulator serving"
    );
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {url}").context("cannot write to stdout")?;
        stdout.flush().context("cannot write to stdout")?;
    }
    shutdown.await;
    info!(requests = simulator.requests_served(), "simulator stopping");
    simulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: SimulatorArgs,
    }

    fn parse(argv: &[&str]) -> Result<SimulatorArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("sim").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn flags_map_to_the_config() {
        let args = parse(&[
            "--products",
            "1000000",
            "--seed",
            "7",
            "--latency-ms",
            "25",
            "--error-rate",
            "0.1",
            "--truncate-rate",
            "1",
            "--rate-limit",
            "--listen",
            "127.0.0.1:0",
        ])
        .expect("valid flags");
        let config = args.config();
        assert_eq!(config.products, 1_000_000);
        assert_eq!(config.seed, 7);
        assert_eq!(config.latency, Duration::from_millis(25));
        assert_eq!(config.error_rate, 0.1);
        assert_eq!(config.truncate_rate, 1.0);
        assert!(config.rate_limit);
        assert_eq!(config.basic_auth, None);
        assert_eq!(args.listen.port(), 0);
    }

    #[test]
    fn basic_auth_splits_at_the_first_colon() {
        let args = parse(&["--basic-auth", "sync:s3cret:with:colons"]).expect("valid flag");
        assert_eq!(
            args.config().basic_auth,
            Some(("sync".to_owned(), "s3cret:with:colons".to_owned()))
        );
        assert!(parse(&["--basic-auth", "no-colon"]).is_err());
    }

    #[test]
    fn defaults_match_the_default_config() {
        let args = parse(&[]).expect("no flags needed");
        assert_eq!(args.config(), SimulatorConfig::default());
        assert_eq!(args.listen, SocketAddr::from(([127, 0, 0, 1], 8090)));
    }

    #[test]
    fn new_flags_map_to_the_config() {
        let args = parse(&[
            "--rate-limit-quota",
            "20/2s",
            "--string-prices",
            "--products-file",
            "dump.json",
            "--variants",
            "5",
        ])
        .expect("valid flags");
        let config = args.config();
        assert_eq!(config.variants, 5);
        assert_eq!(config.rate_limit_quota, Some((20, Duration::from_secs(2))));
        assert!(config.string_prices);
        assert_eq!(config.products_file, Some(PathBuf::from("dump.json")));
        assert!(!config.rate_limit, "the quota leaves DummyJSON's limit off");
        assert!(parse(&["--rate-limit-quota", "20"]).is_err());
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        assert!(parse(&["--error-rate", "1.5"]).is_err());
        assert!(parse(&["--truncate-rate", "-0.1"]).is_err());
        assert!(parse(&["--error-rate", "often"]).is_err());
        assert!(parse(&["--error-rate", "0.5"]).is_ok());
    }
}
