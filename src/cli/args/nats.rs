//! NATS connection flags and the names of streams, subjects and consumers.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::settings::{NatsSettings, Secret, Topology, names};

/// How to reach NATS.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "NATS connection")]
pub struct NatsArgs {
    /// NATS server URLs, comma-separated (e.g. nats://10.0.0.1:4222,nats://10.0.0.2:4222).
    /// `nats://user:password@host` or `nats://token@host` authenticates; never shown.
    #[arg(
        long,
        env = "NATS_URL",
        value_name = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_delimiter = ','
    )]
    pub nats_url: Vec<String>,

    /// Credentials file (JWT and NKey seed) for NATS.
    #[arg(long, env = "NATS_CREDS", value_name = "NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,

    /// NATS user name (with NATS_PASSWORD).
    #[arg(
        long,
        env = "NATS_USER",
        value_name = "NATS_USER",
        requires = "nats_password"
    )]
    pub nats_user: Option<String>,

    /// NATS password. Never logged.
    #[arg(
        long,
        env = "NATS_PASSWORD",
        value_name = "NATS_PASSWORD",
        hide_env_values = true,
        requires = "nats_user"
    )]
    pub nats_password: Option<Secret>,

    /// NATS token. Never logged.
    #[arg(
        long,
        env = "NATS_TOKEN",
        value_name = "NATS_TOKEN",
        hide_env_values = true
    )]
    pub nats_token: Option<Secret>,

    /// CA certificate (PEM) to verify the NATS server with; implies TLS.
    #[arg(long, env = "NATS_TLS_CA", value_name = "NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,

    /// Client certificate (PEM) for TLS client authentication (with NATS_TLS_KEY).
    #[arg(
        long,
        env = "NATS_TLS_CERT",
        value_name = "NATS_TLS_CERT",
        requires = "nats_tls_key"
    )]
    pub nats_tls_cert: Option<PathBuf>,

    /// Client private key (PEM) for NATS_TLS_CERT.
    #[arg(
        long,
        env = "NATS_TLS_KEY",
        value_name = "NATS_TLS_KEY",
        requires = "nats_tls_cert"
    )]
    pub nats_tls_key: Option<PathBuf>,
}

/// Names of the streams, subjects and consumers: the defaults are the contract in the README;
/// sites whose `product.updated` lives in another stream point these elsewhere.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "JetStream streams, subjects and consumers")]
pub struct TopologyArgs {
    /// Stream holding sync requests and product events.
    #[arg(
        long,
        env = "CATALOG_STREAM",
        value_name = "CATALOG_STREAM",
        default_value = names::STREAM
    )]
    pub stream: String,

    /// Stream holding run summaries and dead letters.
    #[arg(
        long,
        env = "CATALOG_RESULTS_STREAM",
        value_name = "CATALOG_RESULTS_STREAM",
        default_value = names::RESULTS_STREAM
    )]
    pub results_stream: String,

    /// Subject of sync requests.
    #[arg(
        long,
        env = "SUBJECT_SYNC_REQUESTED",
        value_name = "SUBJECT_SYNC_REQUESTED",
        default_value = names::REQUESTED_SUBJECT
    )]
    pub requested_subject: String,

    /// Subject of product events.
    #[arg(
        long,
        env = "SUBJECT_PRODUCT_UPDATED",
        value_name = "SUBJECT_PRODUCT_UPDATED",
        default_value = names::UPDATED_SUBJECT
    )]
    pub updated_subject: String,

    /// Subject run summaries are published on.
    #[arg(
        long,
        env = "SUBJECT_SYNC_COMPLETED",
        value_name = "SUBJECT_SYNC_COMPLETED",
        default_value = names::COMPLETED_SUBJECT
    )]
    pub completed_subject: String,

    /// Subject dead letters are published on.
    #[arg(
        long,
        env = "SUBJECT_SYNC_DEAD",
        value_name = "SUBJECT_SYNC_DEAD",
        default_value = names::DEAD_SUBJECT
    )]
    pub dead_subject: String,

    /// Subject of progress events (core NATS, not stored).
    #[arg(
        long,
        env = "SUBJECT_SYNC_PROGRESS",
        value_name = "SUBJECT_SYNC_PROGRESS",
        default_value = names::PROGRESS_SUBJECT
    )]
    pub progress_subject: String,

    /// How long JetStream waits for an acknowledgement before redelivering: the time a crashed
    /// worker's request or events take to reach another replica. Running requests are kept alive
    /// with in-progress acknowledgements, so this does not bound a run's length.
    #[arg(
        long,
        env = "CONSUMER_ACK_WAIT",
        value_name = "CONSUMER_ACK_WAIT",
        default_value = names::ACK_WAIT,
        value_parser = super::parse::parse_duration
    )]
    pub ack_wait: Duration,

    /// Copies of each stream, each on its own server of a JetStream cluster: 1 for a single
    /// server, 3 to ride out the loss of one node (the cluster needs at least that many servers).
    /// When set, existing streams are changed to this count; unset, new streams get one copy and
    /// existing ones keep theirs.
    #[arg(
        long,
        env = "NATS_STREAM_REPLICAS",
        value_name = "NATS_STREAM_REPLICAS",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=5)
    )]
    pub stream_replicas: Option<usize>,

    /// Durable consumer of sync requests.
    #[arg(
        long,
        env = "CONSUMER_REQUESTS",
        value_name = "CONSUMER_REQUESTS",
        default_value = names::REQUESTS_CONSUMER
    )]
    pub requests_consumer: String,

    /// Durable consumer of product events.
    #[arg(
        long,
        env = "CONSUMER_UPDATES",
        value_name = "CONSUMER_UPDATES",
        default_value = names::UPDATES_CONSUMER
    )]
    pub updates_consumer: String,
}

impl NatsArgs {
    pub fn settings(&self) -> NatsSettings {
        NatsSettings {
            urls: self.nats_url.clone(),
            creds: self.nats_creds.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
            tls_ca: self.nats_tls_ca.clone(),
            tls_cert: self.nats_tls_cert.clone(),
            tls_key: self.nats_tls_key.clone(),
        }
    }
}

impl TopologyArgs {
    pub fn settings(&self) -> Topology {
        Topology {
            stream: self.stream.clone(),
            results_stream: self.results_stream.clone(),
            requested_subject: self.requested_subject.clone(),
            updated_subject: self.updated_subject.clone(),
            completed_subject: self.completed_subject.clone(),
            dead_subject: self.dead_subject.clone(),
            progress_subject: self.progress_subject.clone(),
            ack_wait: self.ack_wait,
            stream_replicas: self.stream_replicas,
            requests_consumer: self.requests_consumer.clone(),
            updates_consumer: self.updates_consumer.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        topology: TopologyArgs,
    }

    #[test]
    fn stream_replicas_is_a_flag_with_an_environment_fallback_from_1_to_5() {
        use clap::{CommandFactory as _, Parser as _};
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("catalog-sync").chain(args.iter().copied()))
        };
        assert_eq!(parse(&[]).unwrap().topology.stream_replicas, None);
        assert_eq!(
            parse(&["--stream-replicas", "3"])
                .unwrap()
                .topology
                .stream_replicas,
            Some(3)
        );
        assert_eq!(
            parse(&["--stream-replicas", "5"])
                .unwrap()
                .topology
                .stream_replicas,
            Some(5)
        );
        for bad in ["0", "6", "three", "-1"] {
            let error = parse(&[&format!("--stream-replicas={bad}")])
                .unwrap_err()
                .to_string();
            assert!(error.contains("NATS_STREAM_REPLICAS"), "{bad}: {error}");
        }
        let command = Cli::command();
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == "stream_replicas")
            .expect("the stream_replicas argument");
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some("NATS_STREAM_REPLICAS")
        );
        assert!(
            arg.get_help()
                .is_some_and(|h| h.to_string().contains("JetStream cluster")),
            "the doc comment is the help text"
        );
    }
}
